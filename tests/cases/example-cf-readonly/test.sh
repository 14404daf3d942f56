# The CompactFlash example: 1 GB card, read-only root, data partition, tmpfs sizes.
top=$(cd "$CASE/../../.." && pwd)
mkbm "$top/examples/cf-readonly.yml" -o out/cf.img
img=out/cf.img
expect_eq "$(stat -c %s $img)" 1000000000 "image size (1 GB preset)"
expect_eq "$(part_field $img 1 size)" $((768 * 2048)) "root size"
expect_eq "$(part_field $img 1 bootable)" true "root active"
expect_eq "$(part_field $img 2 start)" $((769 * 2048)) "data start"
part_extract $img 1 root.fs
part_extract $img 2 data.fs
fsck_clean root.fs
fsck_clean data.fs
expect_eq "$(sb_field data.fs 'Filesystem volume name')" CF_DATA "data label"
expect_eq "$(cat_file data.fs /README)" "Persistent data lives here; the root is read-only." "/data/README"
fstab=$(cat_file root.fs /etc/fstab)
expect_match "$fstab" '^LABEL=CF_ROOT +/ +ext2 +ro,noatime +0 1$' "ro root"
expect_match "$fstab" '^LABEL=CF_DATA +/data +ext2 +nodev,nosuid,noatime +0 2$' "data"
expect_match "$fstab" '^tmpfs +/var/lib/dhcp +tmpfs +defaults,noatime,nosuid,nodev,size=1048576 +0 0$' "tmpfs size"
expect_match "$fstab" '^tmpfs +/media +tmpfs +.*size=65536,mode=0755 ' "tmpfs mode"
expect_eq "$(stat_field root.fs /var/lib/dhcp)" "0755 0 0 directory" "tmpfs mount point made"
