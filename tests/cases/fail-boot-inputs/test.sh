# Bad input for the boot chain, each refused with one clear message and no image left:
# no kernel in the package set (before any .deb is unpacked), an unknown module, a /boot
# too small for the initrd, a dynamically linked busybox, GPT without a bios-grub
# partition, a gap before the first partition too small for core.img, bad keys.
mkdir -p debs nokernel dynbb
fake_kernel debs
cp debs/busybox-static_1_all.deb nokernel/
# A busybox that needs a dynamic loader.
mkdir -p bb/bin
printf 'int main(void) { return 0; }\n' >bb.c
gcc -o bb/bin/busybox bb.c
mkdeb dynbb busybox-static 1 bb
cp debs/linux-image-1.0-test_1_all.deb dynbb/

recipe() { # $1: debs dir, then extra YAML lines
	d=$1
	shift
	{
		echo "image: {size: 64MiB, table: msdos}"
		echo "partitions:"
		echo "  - {name: boot, size: \"\${boot_size}\", filesystem: {type: ext2, label: B, mount: /boot}}"
		echo "  - {name: rootfs, size: rest, filesystem: {type: ext2, label: R, mount: /}}"
		inc="linux-image-1.0-test, busybox-static"
		[ "$d" = nokernel ] && inc=busybox-static
		echo "packages: {mirror: none, variant: none, include: [$inc], debs: [$d],"
		echo "           configure: none}"
		echo "variables: {boot_size: 16MiB}"
		for l in "$@"; do echo "$l"; done
	} >r.yml
}

recipe nokernel "bootloader: {grub: host}"
expect_fail "no kernel is in the package set: add linux-image-amd64" r.yml -o out/x.img
grep -q "r.yml:8:13: bootloader: the image boots" "$WORK/stderr" || fail "not at bootloader: $(cat "$WORK/stderr")"
expect_fail "no kernel is in the package set" check r.yml

recipe debs "initrd: {modules: [ext4, nosuchmod]}"
expect_fail "nosuchmod" r.yml -o out/x.img
grep -q "1.0-test" "$WORK/stderr" || fail "the kernel version is not named: $(cat "$WORK/stderr")"

# The kernel leaves too little of /boot for the initrd.
rm -rf big && mkdir big && fake_kernel big 7000000
recipe big "initrd: {compression: none}"
expect_fail "too small for the initrd" r.yml -o out/x.img -D boot_size=8MiB

recipe dynbb "initrd: {}"
expect_fail "is dynamically linked" r.yml -o out/x.img

recipe debs "bootloader: {grub: host}"
sed -i 's/table: msdos/table: gpt/' r.yml
expect_fail "needs a partition of type bios-grub" r.yml -o out/x.img

# Partitions from sector 32 leave 31 sectors: core.img (about 52) does not fit.
recipe debs "bootloader: {grub: host}"
sed -i 's/table: msdos}/table: msdos, align: 16KiB}/' r.yml
expect_fail "does not fit" r.yml -o out/x.img

recipe debs "bootloader: {grub: target}"
expect_fail "add grub-pc-bin to packages.include" r.yml -o out/x.img

for bad in "bootloader: {serial: com1}|is not a serial console" \
	"bootloader: {serial: 'ttyS0,fast'}|is not a speed" \
	"bootloader: {type: lilo}|lilo" \
	"bootloader: {entries: [{title: a}], default: 1}|the menu has 1 entries" \
	"bootloader: {entries: []}|at least one entry" \
	"bootloader: {grub: both}|both" \
	"bootloader: {modules: [../x]}|is not a GRUB module name" \
	"initrd: {compression: lz4}|is not a compression" \
	"initrd: {modules: ['a b']}|is not a module name" \
	"initrd: {files: [/init]}|the initrd's own init" \
	"initrd: {files: [relative]}|is not an absolute path" \
	"initrd: {busybox: /nonexistent/busybox}|cannot read" \
	"kernel: {version: ../x}|is not a kernel version" \
	"kernel: {version: '6.1 \$(reboot)'}|is not a kernel version"; do
	recipe debs "${bad%%|*}"
	expect_fail "${bad#*|}" check r.yml
	grep -q "r.yml:[0-9]*:[0-9]*:" "$WORK/stderr" || fail "no position for '${bad%%|*}': $(cat "$WORK/stderr")"
done
