# The default example: msdos table, active boot partition, two ext2 filesystems, fstab.
top=$(cd "$CASE/../../.." && pwd)
mkbm "$top/examples/usb-basic.yml" -o out/usb.img
img=out/usb.img

expect_eq "$(stat -c %s $img)" 4000000000 "image size (4 GB preset)"
expect_eq "$(sfdisk --json $img | jq -r .partitiontable.label)" dos "table"
expect_eq "$(sfdisk --json $img | jq -r '.partitiontable.partitions | length')" 2 "partitions"
expect_eq "$(part_field $img 1 start)" 2048 "boot start (1 MiB aligned)"
expect_eq "$(part_field $img 1 size)" $((64 * 2048)) "boot size"
expect_eq "$(part_field $img 1 type)" 83 "boot type"
expect_eq "$(part_field $img 1 bootable)" true "boot active flag"
expect_eq "$(part_field $img 2 start)" $((65 * 2048)) "root start"
expect_eq "$(part_field $img 2 type)" 83 "root type"
expect_eq "$(part_field $img 2 bootable)" null "root not active"
# rest: to the last whole MiB of the 4,000,000,000-byte key
expect_eq "$(( ($(part_field $img 2 start) + $(part_field $img 2 size)) * 512 ))" \
	$((4000000000 / 1048576 * 1048576)) "root ends at the last whole MiB"
# sparse: a 4 GB image holds a few MiB of metadata
used=$(du -k $img | cut -f1)
[ "$used" -lt 32768 ] || fail "image not sparse: $used KiB allocated"

part_extract $img 1 boot.fs
part_extract $img 2 root.fs
fsck_clean boot.fs
fsck_clean root.fs
expect_eq "$(sb_field boot.fs 'Filesystem volume name')" PRIVDEB_BOOT "boot label"
expect_eq "$(sb_field root.fs 'Filesystem volume name')" PRIVDEB_ROOT "root label"
expect_eq "$(sb_field root.fs 'Filesystem features')" \
	"ext_attr resize_inode dir_index filetype sparse_super large_file" "ext2 features"
expect_eq "$(sb_field root.fs 'Filesystem created')" "Tue Nov 14 22:13:20 2023" "SOURCE_DATE_EPOCH"

# The boot partition holds /boot's files; the root only the mount point.
expect_eq "$(cat_file boot.fs /README)" "Boot partition of privdeb: kernel, initrd and GRUB live here." "/boot/README"
dbg root.fs "ls /boot" | grep >/dev/null -c README && fail "/boot/README landed in the root filesystem"
expect_eq "$(stat_field root.fs /boot)" "0755 0 0 directory" "/boot mount point"

fstab=$(cat_file root.fs /etc/fstab)
expect_match "$fstab" '^LABEL=PRIVDEB_BOOT +/boot +ext2 +defaults,noatime +0 2$' "fstab /boot"
expect_match "$fstab" '^LABEL=PRIVDEB_ROOT +/ +ext2 +errors=remount-ro,noatime +0 1$' "fstab /"
for d in /tmp /var/tmp /var/log; do
	expect_match "$fstab" "^tmpfs +$d +tmpfs +defaults,noatime" "fstab tmpfs $d"
done
printf '%s\n' "$fstab" | grep -v '^#' | grep >/dev/null -cw swap && fail "fstab has swap"
expect_eq "$(symlink_target root.fs /etc/mtab)" /proc/mounts "/etc/mtab"
expect_eq "$(symlink_target root.fs /etc/blkid.tab)" /dev/null "/etc/blkid.tab"
expect_eq "$(stat_field root.fs /tmp)" "01777 0 0 directory" "/tmp mount point"
expect_eq "$(stat_field root.fs /var/log)" "0755 0 0 directory" "/var/log mount point"
expect_eq "$(stat_field root.fs /root)" "0700 0 0 directory" "/root"
expect_eq "$(cat_file root.fs /etc/hostname)" privdeb "/etc/hostname"
expect_eq "$(stat_field root.fs /etc/sysctl.d/90-flash.conf)" "0644 0 0 regular" "overlay file"
cat_file root.fs /etc/sysctl.d/90-flash.conf | cmp - "$top/overlays/flash/etc/sysctl.d/90-flash.conf" ||
	fail "overlay content differs"
