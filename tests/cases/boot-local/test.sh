# The initrd and bootloader stages on a made-up kernel (no network, no QEMU): what the
# initramfs holds (listed with cpio and bsdtar, extracted with cpio), the MBR fields
# grub-bios-setup would write, core.img compared with grub-mkimage's own output, grub.cfg,
# the symlinks, and the same bytes twice.
mkdir -p debs
fake_kernel debs
cat >recipe.yml <<'YAML'
image: {size: 64MiB, table: msdos, seed: boot-local}
partitions:
  - {name: boot, size: 16MiB, bootable: true,
     filesystem: {type: ext2, label: LBOOT, mount: /boot}}
  - {name: rootfs, size: rest, filesystem: {type: ext2, label: LROOT, mount: /}}
packages: {mirror: none, variant: none, include: [linux-image-1.0-test, busybox-static],
           debs: [debs], configure: none}
initrd:
  compression: gzip
  modules: [usb-storage]
  files: [/etc/hostname, {path: /etc/motd, content: "hello\n", mode: "0600"}]
bootloader: {timeout: 0, grub: host, cmdline: "quiet splash"}
files:
  - {path: /etc/hostname, content: "local\n"}
YAML
mkbm recipe.yml -o out/a.img || { cat "$WORK/stderr"; fail "build failed"; }
img=out/a.img
part_extract $img 1 boot.fs
part_extract $img 2 root.fs
fsck_clean boot.fs
fsck_clean root.fs

# MBR: boot.img's code with the fields grub-bios-setup patches, the table kept.
boot_img=/usr/lib/grub/i386-pc/boot.img
cmp -n $((0x5c)) $img $boot_img || fail "MBR code before 0x5c differs from boot.img"
expect_eq "$(od -An -tx1 -j $((0x5c)) -N 8 $img | tr -d ' \n')" 0100000000000000 "core.img LBA at 0x5c"
expect_eq "$(od -An -tx1 -j $((0x64)) -N 1 $img | tr -d ' \n')" ff "boot drive at 0x64"
expect_eq "$(od -An -tx1 -j $((0x66)) -N 2 $img | tr -d ' \n')" 9090 "floppy-check NOPs at 0x66"
cmp -i $((0x68)):$((0x68)) -n $((0x1b8 - 0x68)) $img $boot_img || fail "MBR code after 0x68 differs"
expect_eq "$(od -An -tx1 -j $((0x1fe)) -N 2 $img | tr -d ' \n')" 55aa "boot signature"
expect_eq "$(sfdisk -d $img | sed -n 's/^label-id: //p')" \
	"0x$(od -An -tx4 -j $((0x1b8)) -N 4 $img | tr -d ' ')" "disk signature kept"
expect_eq "$(part_field $img 1 start)" 2048 "partition 1 start"
expect_eq "$(part_field $img 1 bootable)" true "active flag"

# core.img at LBA 1 is exactly what grub-mkimage makes for this prefix.
grub-mkimage -O i386-pc -d /usr/lib/grub/i386-pc -p '(,msdos1)/grub' -o core.img \
	biosdisk part_msdos ext2
size=$(stat -c %s core.img)
cmp -i 512:0 -n "$size" $img core.img || fail "core.img in the gap differs from grub-mkimage's"
[ "$size" -lt $((2047 * 512)) ] || fail "core.img too large"

# grub.cfg and GRUB's modules on the boot partition (its root is /boot).
cfg=$(cat_file boot.fs /grub/grub.cfg)
expect_match "$cfg" "^set timeout=0$" "timeout"
expect_match "$cfg" "terminal_output serial console" "serial terminal"
expect_match "$cfg" "$(printf '\tlinux\t/vmlinuz-1.0-test root=LABEL=LROOT ro quiet splash console=tty0 console=ttyS0,115200$')" "linux line"
expect_match "$cfg" "$(printf '\tinitrd\t/initrd.img-1.0-test$')" "initrd line"
expect_match "$cfg" "single-user mode" "rescue entry"
expect_eq "$(grep -c '^menuentry' <<<"$cfg")" 2 "entries (no memtest86+ installed)"
for f in normal.mod linux.mod ext2.mod serial.mod terminfo.mod moddep.lst command.lst core.img; do
	dbg boot.fs "stat /grub/i386-pc/$f" | grep >/dev/null -c '^Inode:' || fail "/boot/grub/i386-pc/$f missing"
done

# The initramfs: listed with two tools, then extracted.
dbg boot.fs "dump /initrd.img-1.0-test initrd.img"
gzip -t initrd.img || fail "the initrd is not gzip"
list=$(gzip -dc initrd.img | cpio -itv 2>/dev/null)
echo "$list" | grep >/dev/null -Ec '^-rwxr-xr-x +1 root +root .* init$' || fail "init: $list"
echo "$list" | grep >/dev/null -Ec '^lrwxrwxrwx .* bin/sh -> busybox$' || fail "bin/sh link"
echo "$list" | grep >/dev/null -Ec '^crw------- .* 5, +1 .* dev/console$' || fail "dev/console"
echo "$list" | grep >/dev/null -Ec '^-rw------- .* etc/motd$' || fail "etc/motd mode"
bsdtar -tvf initrd.img | grep >/dev/null -c ' lib/modules/1.0-test/kernel/fs/ext4/ext4.ko$' || fail "bsdtar: ext4.ko"
mods=$(gzip -dc initrd.img | cpio -it 2>/dev/null | sed -n 's|^lib/modules/1.0-test/||p' | grep '\.ko$' | sort)
expect_eq "$(echo $mods)" "kernel/drivers/ata/ahci.ko kernel/drivers/ata/libahci.ko kernel/drivers/ata/libata.ko kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/sd_mod.ko kernel/drivers/usb/core/usbcore.ko kernel/drivers/usb/storage/usb-storage.ko kernel/fs/ext4/ext4.ko kernel/fs/jbd2/jbd2.ko kernel/fs/mbcache.ko" "modules (virtio_blk is built in)"
mkdir x
(cd x && gzip -dc ../initrd.img | cpio -idm --no-absolute-filenames 2>/dev/null) || true
cmp x/init "$CASE/../../../templates/init" || fail "/init is not templates/init"
cmp x/bin/busybox <(dbg root.fs "cat /usr/bin/busybox") || fail "busybox is not the target's"
expect_eq "$(cat x/etc/hostname)" local "etc/hostname copied from the target"
grep -qx "ROOT='LABEL=LROOT'" x/etc/initrd.conf || fail "initrd.conf: $(cat x/etc/initrd.conf)"
grep -qx "ROOTFSTYPE='ext2'" x/etc/initrd.conf || fail "initrd.conf rootfstype"
# Load order: every module after what it depends on.
order=$(cat x/etc/modules.load)
pos() { grep -n "/$1.ko\$" <<<"$order" | cut -d: -f1; }
for pair in jbd2:ext4 mbcache:ext4 usbcore:usb-storage scsi_mod:usb-storage scsi_mod:sd_mod libata:libahci libahci:ahci; do
	a=$(pos "${pair%%:*}") b=$(pos "${pair#*:}")
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ] || fail "load order: ${pair%%:*} must precede ${pair#*:}: $order"
done
grep -q '^kernel/fs/ext4/ext4.ko: ' x/lib/modules/1.0-test/modules.dep || fail "modules.dep: ext4"
# busybox modprobe would read the dependencies from here: ext4's are both listed.
line=$(grep '^kernel/fs/ext4/ext4.ko:' x/lib/modules/1.0-test/modules.dep)
expect_match "$line" "kernel/fs/jbd2/jbd2.ko" "modules.dep ext4 -> jbd2"
expect_match "$line" "kernel/fs/mbcache.ko" "modules.dep ext4 -> mbcache"

# Debian's symlinks, and the mount points /init moves /dev, /proc and /sys to.
expect_eq "$(symlink_target root.fs /vmlinuz)" boot/vmlinuz-1.0-test "/vmlinuz"
expect_eq "$(symlink_target root.fs /initrd.img)" boot/initrd.img-1.0-test "/initrd.img"
for d in /dev /proc /sys /run; do
	expect_match "$(stat_field root.fs $d)" " directory$" "$d"
done

# The same inputs give the same bytes.
mkbm recipe.yml -o out/b.img || fail "second build failed"
cmp out/a.img out/b.img || fail "two builds differ"

# Memtest86+ joins the default menu when installed; a recipe's own menu replaces it.
mkdir -p mt/boot
head -c 4096 /dev/urandom >mt/boot/memtest86+x64.bin
mkdeb debs memtest86+ 1 mt
sed -i 's/include: \[linux-image-1.0-test, busybox-static\]/include: [linux-image-1.0-test, busybox-static, memtest86+]/' recipe.yml
mkbm recipe.yml -o out/c.img || { cat "$WORK/stderr"; fail "build with memtest86+"; }
part_extract out/c.img 1 c.fs
cfg=$(cat_file c.fs /grub/grub.cfg)
expect_eq "$(grep -c '^menuentry' <<<"$cfg")" 3 "entries with memtest86+"
expect_match "$cfg" "$(printf '^\tlinux16\t/memtest86\\+x64.bin$')" "memtest entry"
sed -i 's/^bootloader: .*$/bootloader: {timeout: 0, grub: host, default: 1, serial: none, entries: [{title: Plain, cmdline: "rw init=\/bin\/sh"}, {title: Test memory, memtest: true}]}/' recipe.yml
mkbm recipe.yml -o out/d.img || { cat "$WORK/stderr"; fail "build with a menu"; }
part_extract out/d.img 1 d.fs
cfg=$(cat_file d.fs /grub/grub.cfg)
expect_eq "$(grep '^menuentry' <<<"$cfg" | cut -d"'" -f2 | paste -sd,)" "Plain,Test memory" "recipe's menu"
expect_match "$cfg" "^set default=1$" "default"
expect_match "$cfg" "$(printf '\tlinux\t/vmlinuz-1.0-test root=LABEL=LROOT ro rw init=/bin/sh$')" "entry cmdline, no serial console"
grep -q serial <<<"$cfg" && fail "serial: none still sets up a serial terminal"
true
