# Local .deb files unpacked into two filesystems: types, modes, owners, hard links, device
# nodes, merged-/usr, /boot in its own partition, dpkg's path filters, alternatives and
# Provides, and the dpkg database, all read back with debugfs.
mkdir -p debs a/usr/bin a/usr/sbin a/etc a/usr/share/doc/base-a a/usr/share/man/man1 \
	a/var/lib/base-a a/bin a/boot b/usr/lib/base-b c/usr/lib/base-c
printf '#!/bin/sh\necho tool\n' >a/usr/bin/tool
chmod 0755 a/usr/bin/tool
ln a/usr/bin/tool a/usr/bin/tool-hard
ln -s tool a/usr/bin/tool-link
printf 'suid\n' >a/usr/sbin/suidtool
chmod 04755 a/usr/sbin/suidtool
printf 'setting=1\n' >a/etc/base-a.conf
printf 'changes\n' >a/usr/share/doc/base-a/changelog
printf 'copyright\n' >a/usr/share/doc/base-a/copyright
printf 'man\n' >a/usr/share/man/man1/tool.1
chmod 0700 a/var/lib/base-a
printf 'legacy\n' >a/bin/legacy
printf 'kernel\n' >a/boot/vmlinuz-test
mkdir -p a/DEBIAN
printf '/etc/base-a.conf\n' >a/DEBIAN/conffiles
printf '#!/bin/sh\necho configured\n' >a/DEBIAN/postinst
chmod 0755 a/DEBIAN/postinst
(cd a && find usr bin boot -type f | sort | xargs md5sum) >a/DEBIAN/md5sums
mkdeb debs base-a 1.0 a "Depends: base-b | base-c, virt-x (>= 2)"
head -c 3000000 /dev/urandom >b/usr/lib/base-b/data
mkdeb debs base-b 2.1-1 b "Provides: virt-x (= 2.5)"
printf 'c\n' >c/usr/lib/base-c/c
mkdeb debs base-c 1.0 c
# Owners, devices and a FIFO: entries dpkg-deb --root-owner-group would not make.
printf 'owned\n' >owned
cat >spec.mtree <<'MTREE'
#mtree
./opt type=dir mode=0755 uid=0 gid=0 time=1700000000.0
./opt/owned type=file mode=04750 uid=1000 gid=100 contents=owned time=1600000000.0
./dev type=dir mode=0755 uid=0 gid=0 time=1700000000.0
./dev/null-test type=char mode=0666 uid=0 gid=0 device=native,1,3 time=1700000000.0
./dev/fifo-test type=fifo mode=0600 uid=0 gid=0 time=1700000000.0
MTREE
bsdtar --format=gnutar -cf owners.tar @spec.mtree
mkdeb_tar debs/owners_1_all.deb owners 1 owners.tar

cat >recipe.yml <<'YAML'
image: {size: 64MiB, seed: pkgs}
partitions:
  - {name: boot, size: 16MiB, filesystem: {type: ext2, label: BOOT, mount: /boot}}
  - {name: root, size: rest, filesystem: {type: ext2, label: ROOT, mount: /}}
fstab: false
flash: false
packages:
  mirror: none
  variant: none
  include: [base-a, owners]
  debs: [debs]
  path-exclude: [/usr/share/doc/*, /usr/share/man/*]
  path-include: [/usr/share/doc/*/copyright]
YAML
"$MKBOOTMEDIA" check recipe.yml >plan.txt
grep -Eq '^ +base-a +1\.0 +all' plan.txt || { cat plan.txt; fail "check lists base-a"; }
grep -q 'base-c' plan.txt && fail "check lists base-c (the second alternative)"
mkbm recipe.yml -o out/p.img
part_extract out/p.img 1 boot.fs
part_extract out/p.img 2 root.fs
fsck_clean boot.fs
fsck_clean root.fs

expect_eq "$(stat_field root.fs /usr/bin/tool)" "0755 0 0 regular" "tool"
expect_eq "$(stat_field root.fs /usr/sbin/suidtool)" "04755 0 0 regular" "setuid kept"
expect_eq "$(symlink_target root.fs /usr/bin/tool-link)" tool "symlink"
expect_eq "$(dbg root.fs 'stat /usr/bin/tool-hard' | sed -n 's/.*Links: \([0-9]*\).*/\1/p')" 2 "hard link count"
expect_eq "$(dbg root.fs 'stat /usr/bin/tool-hard' | sed -n 's/^Inode: \([0-9]*\).*/\1/p')" \
	"$(dbg root.fs 'stat /usr/bin/tool' | sed -n 's/^Inode: \([0-9]*\).*/\1/p')" "hard link inode"
expect_eq "$(stat_field root.fs /var/lib/base-a)" "0700 0 0 directory" "directory mode"
expect_eq "$(symlink_target root.fs /bin)" usr/bin "merged /bin"
expect_eq "$(symlink_target root.fs /lib64)" usr/lib64 "merged /lib64"
expect_eq "$(cat_file root.fs /usr/bin/legacy)" legacy "/bin/legacy landed in /usr/bin"
expect_eq "$(cat_file boot.fs /vmlinuz-test)" kernel "/boot/vmlinuz-test in the boot partition"
dbg root.fs "ls /boot" | grep >/dev/null -c vmlinuz && fail "kernel in the root filesystem's /boot"
dbg root.fs "dump /usr/lib/base-b/data base-b.data"
cmp base-b.data b/usr/lib/base-b/data || fail "base-b's 3 MB file differs"
expect_eq "$(dbg root.fs 'stat /usr/bin/tool' | sed -n 's/^ *mtime: *0x\([0-9a-f]*\).*/\1/p')" \
	"$(printf %x "$SOURCE_DATE_EPOCH")" "mtime from the archive"
expect_eq "$(stat_field root.fs /opt/owned)" "04750 1000 100 regular" "owner numbers and setuid"
expect_eq "$(dbg root.fs 'stat /opt/owned' | sed -n 's/^ *mtime: *0x\([0-9a-f]*\).*/\1/p')" \
	"$(printf %x 1600000000)" "older mtime kept"
expect_match "$(dbg root.fs 'stat /dev/null-test')" "Device major/minor number: 01:03" "char device numbers"
expect_eq "$(stat_field root.fs /dev/null-test)" "0666 0 0 character" "char device"
expect_eq "$(stat_field root.fs /dev/fifo-test)" "0600 0 0 FIFO" "fifo"

# dpkg's filters: doc and man excluded, copyright brought back with its directory.
expect_eq "$(cat_file root.fs /usr/share/doc/base-a/copyright)" copyright "copyright kept"
dbg root.fs "ls /usr/share/doc/base-a" | grep >/dev/null -c changelog && fail "changelog not excluded"
dbg root.fs "ls /usr/share/man" | grep >/dev/null -c man1 && fail "man pages not excluded"

# The dpkg database.
cat_file root.fs /var/lib/dpkg/status >status
expect_eq "$(sed -n 's/^Package: //p' status | tr '\n' ' ')" "base-a base-b owners " "status lists the set"
expect_eq "$(grep -c '^Status: install ok unpacked$' status)" 3 "state unpacked"
expect_eq "$(grep -A1 '^Conffiles:' status | tail -n1)" \
	" /etc/base-a.conf $(md5sum <a/etc/base-a.conf | cut -d' ' -f1)" "conffile and its md5sum"
cat_file root.fs /var/lib/dpkg/info/base-a.list >list
grep -qx '/\.' list || fail "list lacks /."
grep -qx '/usr/bin/tool' list || fail "list lacks /usr/bin/tool"
grep -qx '/usr/share/doc/base-a/copyright' list || fail "list lacks the copyright file"
grep -q 'changelog' list && fail "list names a filtered file"
expect_eq "$(stat_field root.fs /var/lib/dpkg/info/base-a.postinst)" "0755 0 0 regular" "postinst mode"
expect_eq "$(cat_file root.fs /var/lib/dpkg/info/base-a.postinst | tail -n1)" "echo configured" "postinst"
expect_eq "$(cat_file root.fs /var/lib/dpkg/info/base-a.conffiles)" "/etc/base-a.conf" "conffiles"
cat_file root.fs /var/lib/dpkg/info/base-a.md5sums | grep >/dev/null -cx "$(md5sum <a/usr/bin/tool | cut -d' ' -f1)  usr/bin/tool" ||
	fail "md5sums lacks usr/bin/tool"
expect_eq "$(cat_file root.fs /var/lib/dpkg/arch)" amd64 "arch"
dbg root.fs "ls -l /var/lib/dpkg" | grep >/dev/null -c ' available' || fail "no available file"
for d in info updates triggers alternatives; do
	expect_eq "$(stat_field root.fs /var/lib/dpkg/$d)" "0755 0 0 directory" "/var/lib/dpkg/$d"
done

# The same bytes whatever the number of decompression threads.
mkbm -j 1 recipe.yml -o out/p1.img
mkbm -j 3 recipe.yml -o out/p3.img
cmp out/p.img out/p1.img || fail "-j 1 gives other bytes"
cmp out/p.img out/p3.img || fail "-j 3 gives other bytes"
