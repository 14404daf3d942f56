# Same recipe, seed and SOURCE_DATE_EPOCH: the same bytes. Another seed: other identifiers.
top=$(cd "$CASE/../../.." && pwd)
cat >recipe.yml <<YAML
include: $top/examples/usb-basic.yml
image: {size: 256MiB}
partitions:
  - {name: boot, size: 32MiB, bootable: true, filesystem: {type: ext2, label: B, mount: /boot}}
  - {name: root, size: 128MiB, filesystem: {type: ext4, label: R, mount: /}}
  - {name: srv, size: rest, filesystem: {type: ext3, mount: /srv}}
YAML
mkbm recipe.yml -o out/a.img
sleep 1
mkbm recipe.yml -o out/b.img
cmp out/a.img out/b.img || fail "two builds differ"
mkbm recipe.yml --seed other -o out/c.img
cmp -s out/a.img out/c.img && fail "another seed gave the same image"
a=$(sfdisk --json out/a.img | jq -r .partitiontable.id)
c=$(sfdisk --json out/c.img | jq -r .partitiontable.id)
[ "$a" != "$c" ] || fail "disk id does not follow the seed"
part_extract out/a.img 2 a.fs
part_extract out/c.img 2 c.fs
[ "$(sb_field a.fs 'Filesystem UUID')" != "$(sb_field c.fs 'Filesystem UUID')" ] ||
	fail "filesystem UUID does not follow the seed"
# Without SOURCE_DATE_EPOCH the times are the build's own, and the image still checks.
SOURCE_DATE_EPOCH= "$MKBOOTMEDIA" -q recipe.yml -o out/d.img
part_extract out/d.img 2 d.fs
fsck_clean d.fs
created=$(date -d "$(sb_field d.fs 'Filesystem created')" +%s)
[ $(( $(date +%s) - created )) -lt 600 ] || fail "creation time is not now"
