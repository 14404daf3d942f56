# vfat filesystems (the EFI system partition) written without root by mtools at the
# partition's offset: FAT32, FAT16 and FAT12 by size or by fat-size, label and volume id,
# files written through the target tree under the mount point; checked with fsck.fat -n,
# minfo and mdir; fstab mounts them with umask=0077 after "/"; two builds give the same
# bytes. Then what FAT cannot hold, each refused with one message and no image left.
cat >r.yml <<'YAML'
image: {size: 160MiB, seed: vfat-test}
partitions:
  - {name: esp, size: 64MiB, type: efi, filesystem: {type: vfat, label: ESP, uuid: 1234-abcd, mount: /boot/efi}}
  - {name: f16, size: 16MiB, type: "0x06", filesystem: {type: vfat, fat-size: 16, mount: /srv/f16}}
  - {name: f12, size: 2MiB, type: "0x01", filesystem: {type: vfat, label: SMALL, mount: /srv/f12}}
  - {name: root, size: rest, filesystem: {type: ext2, label: ROOT, mount: /}}
files:
  - {path: /boot/efi/EFI/BOOT/BOOTX64.EFI, source: payload.bin}
  - {path: /boot/efi/EFI/debian/grub.cfg, content: "search --label ROOT\n"}
  - {path: /srv/f12/Mixed Case Name.txt, content: "long names are kept\n"}
  - {path: /srv/f16/empty, directory: true}
YAML
head -c 300000 /dev/urandom >payload.bin
mkbm r.yml -o out/a.img || fail "build: $(cat "$WORK/stderr")"
at() { echo "out/a.img@@$(($(part_field out/a.img "$1" start) * 512))"; }
for n in 1 2 3; do
	part_extract out/a.img $n p$n.img
	fsck.fat -n p$n.img >fsck.out 2>&1 || { cat fsck.out; fail "fsck.fat -n partition $n"; }
done
expect_match "$(minfo -i "$(at 1)" :: | grep 'disk type')" 'FAT32' "partition 1's FAT"
expect_match "$(minfo -i "$(at 2)" :: | grep 'disk type')" 'FAT16' "partition 2's FAT"
expect_match "$(minfo -i "$(at 3)" :: | grep 'disk type')" 'FAT12' "partition 3's FAT"
expect_match "$(minfo -i "$(at 1)" :: | grep 'serial number')" 'serial number: 1234ABCD' "volume id"
expect_match "$(minfo -i "$(at 1)" :: | grep 'disk label')" 'ESP ' "label"
mcopy -n -i "$(at 1)" ::/EFI/BOOT/BOOTX64.EFI got.bin
cmp got.bin payload.bin || fail "BOOTX64.EFI differs from its source"
expect_eq "$(mtype -i "$(at 1)" ::/EFI/debian/grub.cfg)" "search --label ROOT" "grub.cfg"
expect_eq "$(mtype -i "$(at 3)" '::/Mixed Case Name.txt')" "long names are kept" "a long name"
mdir -i "$(at 2)" -b ::/ | grep -q '^::/empty' || fail "no directory 'empty' on f16"
if mdir -i "$(at 1)" -/ -b :: | grep -qi lost; then
	fail "the staging filesystem's lost+found reached the FAT"
fi
# The root holds the mount points, and fstab mounts the FATs after "/".
part_extract out/a.img 4 root.img
fsck_clean root.img
expect_eq "$(stat_field root.img /boot/efi | cut -d' ' -f4)" directory "/boot/efi in the root"
fstab=$(cat_file root.img /etc/fstab | grep -v '^#')
expect_match "$(echo "$fstab" | head -n 1)" '^LABEL=ROOT +/ ' "fstab's first line"
expect_match "$fstab" '^LABEL=ESP +/boot/efi +vfat +umask=0077,noatime +0 2$' "the ESP's fstab line"
expect_match "$fstab" '^UUID=[0-9A-F]{4}-[0-9A-F]{4} +/srv/f16 +vfat ' "an unlabelled FAT's fstab line"
# Reproducible.
mkbm r.yml -o out/b.img || fail "second build: $(cat "$WORK/stderr")"
cmp out/a.img out/b.img || fail "two builds differ"
rm out/a.img out/b.img out/a.img.bmap out/b.img.bmap

# Bad input, refused by check (before anything is written) where the recipe alone says it.
bad() { # MESSAGE SED-EXPRESSION [build]
	sed "$2" r.yml >bad.yml
	[ "${3:-}" = build ] || expect_fail "$1" check bad.yml
	expect_fail "$1" bad.yml -o out/x.img
}
bad "partitions[0].filesystem.uuid: '12345' is not a FAT volume id" 's/uuid: 1234-abcd/uuid: "12345"/'
bad "partitions[0].filesystem.label: 'TOOLONGLABEL' is longer than the 11 bytes a FAT label holds" \
	's/label: ESP/label: TOOLONGLABEL/'
bad "partitions[1].filesystem.fat-size: '24' is not a FAT size (12, 16 or 32)" 's/fat-size: 16/fat-size: 24/'
bad "partition 'f16' (16 MiB) cannot hold FAT32" 's/fat-size: 16/fat-size: 32/'
bad "partitions[1].filesystem.inodes: inodes is for ext2, ext3 and ext4" 's/fat-size: 16/inodes: 100/'
bad "vfat cannot hold the root" 's|type: ext2, label: ROOT, mount: /}|type: vfat, label: ROOT, mount: /}|'
export P=passphrase
bad "partition 'esp' is vfat and encrypted" \
	's|type: vfat, label: ESP|type: vfat, label: ESP|; s|{name: esp, size: 64MiB, type: efi,|{name: esp, size: 64MiB, type: efi, encrypt: {passphrase-env: P},|'
# What only the files show, refused when the FAT is made.
bad "'/boot/efi/EFI/link' is a symlink: FAT holds only files and directories" \
	's|^files:|files:\n  - {path: /boot/efi/EFI/link, symlink: BOOT}|' build
bad "'/boot/efi/EFI/mine' is owned by 1000:0: FAT has no owners" \
	's|^files:|files:\n  - {path: /boot/efi/EFI/mine, content: x, owner: "1000"}|' build
bad "'/boot/efi/EFI/boot' and 'BOOT' differ only in case" \
	's|^files:|files:\n  - {path: /boot/efi/EFI/boot/x, content: x}|' build
bad "'/boot/efi/EFI/a?b' cannot be on FAT" 's|^files:|files:\n  - {path: "/boot/efi/EFI/a?b", content: x}|' build
head -c 3000000 /dev/urandom >big.bin
bad "files[0]: no space for '/srv/f12/big' (2.9 MiB) in the filesystem at '/srv/f12'" \
	's|^files:|files:\n  - {path: /srv/f12/big, source: big.bin}|' build
