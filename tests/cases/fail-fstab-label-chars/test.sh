# Values that end up in /etc/fstab (one line per mount, blank-separated fields) or on the
# kernel command line in grub.cfg (root=LABEL=...) must not be able to add a line, a field or
# GRUB script: refused where they are written, for check and for a build.
# check LINE TOKEN MESSAGE RECIPE: the error must point at the first TOKEN on LINE.
check() {
	printf '%s\n' "$4" >bad.yml
	line=$(sed -n "${1}p" bad.yml)
	prefix=${line%%"$2"*}
	[ "$prefix" != "$line" ] || fail "token '$2' not on line $1"
	expect_fail "bad.yml:$1:$((${#prefix} + 1)): $3" check bad.yml
	expect_fail "bad.yml:$1:$((${#prefix} + 1)): $3" bad.yml -o out/x.img
}
fs() { printf 'partitions: [{name: r, size: 16MiB, filesystem: {type: ext2, mount: /, %s}}]' "$1"; }
root=$(fs 'label: R')

check 1 '"defaults' "partitions[0].filesystem.options: 'defaults\\nfoo' is not a mount option" \
	"$(fs 'options: "defaults\nfoo"')"
check 1 '"ro' "partitions[0].filesystem.options[0]: 'ro\\tx' is not a mount option" \
	"$(fs 'options: ["ro\tx"]')"
check 1 "'a;b" "partitions[0].filesystem.label: 'a;b' is not a filesystem label" \
	"$(fs "label: 'a;b'")"
check 1 '"x' "partitions[0].filesystem.label: 'x\"}\$y' is not a filesystem label" \
	"$(fs 'label: "x\"}$y"')"
check 1 "'{r}" "partitions[0].filesystem.label: '{r}' is not a filesystem label" \
	"$(fs "label: '{r}'")"
check 1 '"/a' "partitions[0].filesystem.mount: '/a\\x0bb' is not a mount point" \
	'partitions: [{name: r, size: 16MiB, filesystem: {type: ext2, mount: "/a\vb"}}]'
check 2 '"defaults' "fstab.tmpfs[0].options: 'defaults\\n/dev/sda1 /mnt ext4 defaults 0 0' is not a mount option" \
	"$root
fstab: {tmpfs: [{path: /tmp, options: \"defaults\n/dev/sda1 /mnt ext4 defaults 0 0\"}]}"
check 2 '"rw' "fstab.extra[0].options: 'rw\\nx' is not a mount option" \
	"$root
fstab: {extra: [{spec: proc, file: /proc, type: proc, options: \"rw\nx\"}]}"
check 2 '"pr' "fstab.extra[0].spec: 'pr\\x0doc' cannot be empty or hold spaces or control characters" \
	"$root
fstab: {extra: [{spec: \"pr\roc\", file: /proc, type: proc}]}"
check 2 '"/t' "fstab.tmpfs[0]: '/t\\x1bmp' is not an absolute path" \
	"$root
fstab: {tmpfs: [\"/t\emp\"]}"

# What is allowed still builds, and fstab holds one line per mount.
printf '%s\nfstab: {tmpfs: []}\nflash: false\n' \
	"$(fs 'label: R-1_.x+y:z@w, options: "noatime,commit=30"')" >good.yml
mkbm good.yml -o out/x.img || { cat "$WORK/stderr" >&2; fail "good.yml refused"; }
part_extract out/x.img 1 root.fs
expect_eq "$(sb_field root.fs 'Filesystem volume name')" "R-1_.x+y:z@w" "label"
expect_match "$(cat_file root.fs /etc/fstab | grep -v '^#')" '^LABEL=R-1_.x\+y:z@w +/ +ext2 +noatime,commit=30 +0 1$' "fstab"
