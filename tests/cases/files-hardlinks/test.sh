# Hard links in an overlay stay hard links: one inode with the right link count, across
# directories and across two overlays, while a name on another filesystem (/boot) gets its
# own copy. Checked with debugfs and e2fsck.
mkdir -p ov1/etc ov1/usr/bin ov2/opt boot/b
printf 'shared\n' >ov1/usr/bin/tool
ln ov1/usr/bin/tool ov1/usr/bin/tool-alias
ln ov1/usr/bin/tool ov1/etc/tool-too
ln ov1/usr/bin/tool ov2/opt/tool-4
ln ov1/usr/bin/tool boot/b/tool-boot
printf 'single\n' >ov1/etc/single
cat >recipe.yml <<'YAML'
image: {size: 64MiB}
partitions:
  - {name: boot, size: 16MiB, filesystem: {type: ext2, mount: /boot}}
  - {name: root, size: rest, filesystem: {type: ext4, mount: /}}
overlays: [ov1, ov2, {source: boot, target: /boot}]
YAML
mkbm recipe.yml -o out/x.img || { cat "$WORK/stderr"; fail "build"; }
part_extract out/x.img 1 boot.img
part_extract out/x.img 2 root.img
fsck_clean boot.img
fsck_clean root.img
ino() { dbg "$1" "stat $2" | sed -n 's/^Inode: \([0-9]*\) .*/\1/p'; }
links() { dbg "$1" "stat $2" | sed -n 's/.*Links: \([0-9]*\).*/\1/p'; }
i=$(ino root.img /usr/bin/tool)
[ -n "$i" ] || fail "no /usr/bin/tool"
for p in /usr/bin/tool-alias /etc/tool-too /opt/tool-4; do
	expect_eq "$(ino root.img $p)" "$i" "$p is the inode of /usr/bin/tool"
done
expect_eq "$(links root.img /usr/bin/tool)" 4 "link count of /usr/bin/tool"
expect_eq "$(cat_file root.img /opt/tool-4)" shared "content through a link"
expect_eq "$(links root.img /etc/single)" 1 "link count of a single file"
expect_eq "$(links boot.img /b/tool-boot)" 1 "the /boot name is a copy"
expect_eq "$(cat_file boot.img /b/tool-boot)" shared "content of the /boot copy"
