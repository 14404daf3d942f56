# files: and overlays: through the tree: modes, owners, symlinks followed inside the target
# (never out of it), mount points, replacement, mtimes clamped to SOURCE_DATE_EPOCH.
mkdir -p src/ovl/sub src/ovl2
printf '#!/bin/sh\necho tool\n' >src/tool
chmod 0750 src/tool
touch -d '2031-01-01' src/tool # in the future: clamped to SOURCE_DATE_EPOCH
printf 'from overlay\n' >src/ovl/sub/data.txt
chmod 0600 src/ovl/sub/data.txt
touch -d '2020-02-02 02:02:02' src/ovl/sub/data.txt
ln -s sub/data.txt src/ovl/link
mkdir src/ovl/sub/deeper
touch -d '2019-09-09 09:09:09' src/ovl/sub
printf 'replaced later\n' >src/ovl2/motd
cat >recipe.yml <<'YAML'
image: {size: 64MiB, seed: files}
partitions:
  - {name: boot, size: 16MiB, filesystem: {type: ext2, label: B, mount: /boot}}
  - {name: root, size: rest, filesystem: {type: ext4, label: R, mount: /}}
fstab: false
flash: false
overlays:
  - source: src/ovl
    target: /opt/app
    owner: "1000"
    group: adm
  - src/ovl2
files:
  - {path: /usr/bin, directory: true}
  - {path: /bin, symlink: usr/bin}
  - {path: /bin/tool, source: src/tool}
  - {path: /etc/secret, content: "s3cret\n", mode: "0640", owner: 0, group: shadow}
  - {path: /srv/shared, directory: true, mode: "2775", group: staff}
  - {path: /escape, symlink: ../../../..}
  - {path: /escape/tmp/inside, content: "stays in the target\n"}
  - {path: /boot/grub/grub.cfg, content: "# cfg\n"}
  - {path: /motd, content: "final\n", mode: "0444"}
YAML
mkbm recipe.yml -o out/t.img
part_extract out/t.img 1 boot.fs
part_extract out/t.img 2 root.fs
fsck_clean boot.fs
fsck_clean root.fs
expect_eq "$(stat_field root.fs /usr/bin/tool)" "0750 0 0 regular" "/bin/tool landed in /usr/bin"
expect_eq "$(symlink_target root.fs /bin)" usr/bin "/bin symlink"
expect_eq "$(dbg root.fs 'stat /usr/bin/tool' | sed -n 's/^ *mtime: *0x\([0-9a-f]*\).*/\1/p')" \
	"$(printf %x $SOURCE_DATE_EPOCH)" "future mtime clamped"
expect_eq "$(cat_file root.fs /usr/bin/tool | tail -n1)" "echo tool" "source content"
expect_eq "$(stat_field root.fs /etc/secret)" "0640 0 42 regular" "content with mode and group"
expect_eq "$(stat_field root.fs /srv/shared)" "02775 0 50 directory" "setgid directory"
expect_eq "$(stat_field root.fs /opt/app/sub/data.txt)" "0600 1000 4 regular" "overlay owner and mode"
expect_eq "$(dbg root.fs 'stat /opt/app/sub/data.txt' | sed -n 's/^ *mtime: *0x\([0-9a-f]*\).*/\1/p')" \
	"$(printf %x "$(date -d '2020-02-02 02:02:02' +%s)")" "overlay mtime kept"
expect_eq "$(dbg root.fs 'stat /opt/app/sub' | sed -n 's/^ *mtime: *0x\([0-9a-f]*\).*/\1/p')" \
	"$(printf %x "$(date -d '2019-09-09 09:09:09' +%s)")" "overlay directory mtime kept after filling it"
expect_eq "$(symlink_target root.fs /opt/app/link)" sub/data.txt "overlay symlink"
expect_eq "$(cat_file root.fs /tmp/inside)" "stays in the target" "'..' symlinks stop at the target's root"
expect_eq "$(cat_file root.fs /motd)" "final" "file replaced the overlay's"
expect_eq "$(stat_field root.fs /motd)" "0444 0 0 regular" "replacement mode"
expect_eq "$(cat_file boot.fs /grub/grub.cfg)" "# cfg" "/boot path in the boot filesystem"
dbg root.fs "ls /" | grep >/dev/null -cw grub && fail "grub dir in root fs"
# e2fsck above proves the replaced inode was freed; debugfs: exactly one motd
expect_eq "$(dbg root.fs 'ls -l /' | grep -cw motd)" 1 "one /motd"
