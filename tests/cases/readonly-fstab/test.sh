# root: read-only without an overlay: fstab mounts / read-only (ro added to the recipe's
# options, none of which is lost) with no fsck pass, so nothing remounts or checks it;
# without root: the same recipe keeps the writable root and pass 1 (the negative).
cat >r.yml <<'YAML'
image: {size: 32MiB, table: msdos}
partitions:
  - {name: root, size: rest, filesystem: {type: ext2, label: R, mount: /, options: [nodev, errors=remount-ro]}}
root: {read-only: true}
YAML
mkbm r.yml -o out/ro.img || { cat "$WORK/stderr"; fail "build"; }
part_extract out/ro.img 1 ro.fs
expect_match "$(cat_file ro.fs /etc/fstab)" '^LABEL=R +/ +ext2 +ro,nodev,errors=remount-ro,noatime +0 0$' "read-only root"
sed -i '/^root:/d' r.yml
mkbm r.yml -o out/rw.img || { cat "$WORK/stderr"; fail "build without root:"; }
part_extract out/rw.img 1 rw.fs
expect_match "$(cat_file rw.fs /etc/fstab)" '^LABEL=R +/ +ext2 +nodev,errors=remount-ro,noatime +0 1$' "writable root"
