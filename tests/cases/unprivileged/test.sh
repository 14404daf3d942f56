# The build needs no root: run it as nobody (65534) with no supplementary groups.
top=$(cd "$CASE/../../.." && pwd)
if [ "$(id -u)" -eq 0 ]; then
	chmod 0777 out
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		env HOME=/nonexistent "$MKBOOTMEDIA" "$top/examples/usb-basic.yml" -o out/usb.img 2>err.txt ||
		{ cat err.txt; fail "unprivileged build failed"; }
	expect_eq "$(stat -c %u:%g out/usb.img)" 65534:65534 "built by nobody"
else
	"$MKBOOTMEDIA" "$top/examples/usb-basic.yml" -o out/usb.img
fi
part_extract out/usb.img 2 root.fs
fsck_clean root.fs
# Files belong to root in the image, never to the builder's uid.
expect_eq "$(stat_field root.fs /etc/fstab)" "0644 0 0 regular" "fstab owner"
expect_eq "$(stat_field root.fs /etc/sysctl.d/90-flash.conf)" "0644 0 0 regular" "overlay owner"
