# What UEFI cannot boot is refused by check (and by the build, before anything is written),
# each with one message at the recipe's file:line:col: grub-efi without an ESP, an ESP that
# is not vfat, one too small, an encrypted ESP or /boot, an unmounted ESP, secure-boot: true
# without Debian's signed packages (said before any download), secure-boot on grub-bios, and
# GRUB for BIOS on GPT without a bios-grub partition. The good recipe passes check.
cache=$(test_cache)
export PW=not-a-secret
cat >r.yml <<'YAML'
image: {size: 256MiB, table: msdos, seed: check-efi}
partitions:
  - {name: esp, size: 32MiB, type: efi, filesystem: {type: vfat, mount: /boot/efi}}
  - {name: boot, size: 48MiB, filesystem: {type: ext2, label: B, mount: /boot}}
  - {name: root, size: rest, filesystem: {type: ext2, label: R, mount: /}}
packages:
  variant: none
  include: [linux-image-amd64, busybox-static, shim-signed, grub-efi-amd64-signed]
  configure: none
bootloader:
  type: grub-hybrid
  secure-boot: true
YAML
mkbm --cache "$cache" check r.yml >plan || { cat "$WORK/stderr"; fail "check refused the good recipe"; }
grep -q "Debian's signed shim and GRUB (Secure Boot)" plan || fail "the plan: $(grep -A3 ^bootloader plan)"
grep -q "GRUB for BIOS: boot.img in the MBR" plan || fail "the plan has no BIOS part"

expect_sed_fail "bad.yml:10:3: bootloader: grub-hybrid needs an EFI system partition: add a partition with type: efi" \
	'/name: esp/d'
expect_sed_fail "bad.yml:3:53: partitions[0].filesystem: partition 'esp' is of type efi but would hold ext2" \
	's/{type: vfat, mount/{type: ext2, mount/'
expect_sed_fail "bad.yml:3:5: partitions[0]: partition 'esp' is the EFI system partition (type efi): the firmware reads it as FAT" \
	's|, filesystem: {type: vfat, mount: /boot/efi}||'
expect_sed_fail "bad.yml:3:5: partitions[0]: partition 'esp', the EFI system partition, is 8192 KiB: too small" \
	's/size: 32MiB, type: efi/size: 8MiB, type: efi/'
expect_sed_fail "partition 'esp' is vfat and encrypted" \
	's|type: efi, filesystem|type: efi, encrypt: {passphrase-env: PW}, filesystem|'
expect_sed_fail "bad.yml:4:40: partitions[1].encrypt: an encrypted /boot is not supported: GRUB reads the kernel" \
	's|48MiB, filesystem|48MiB, encrypt: {passphrase-env: PW}, filesystem|'
expect_sed_fail "partition 'esp' is the EFI system partition but is not mounted, and /boot/efi is taken" \
	-e 's|{type: vfat, mount: /boot/efi}|{type: vfat}|' -e 's|mount: /boot}|mount: /boot/efi}|'
expect_sed_fail "bad.yml:12:16: bootloader.secure-boot: secure-boot: true needs Debian's signed boot loaders: add shim-signed and grub-efi-amd64-signed to packages.include" \
	's/, shim-signed, grub-efi-amd64-signed//'
expect_sed_fail "needs Debian's signed boot loaders: add grub-efi-amd64-signed to packages.include" \
	's/, grub-efi-amd64-signed//'
expect_sed_fail "bad.yml:12:16: bootloader.secure-boot: secure-boot is for UEFI: use type: grub-efi or grub-hybrid" \
	's/type: grub-hybrid/type: grub-bios/'
expect_sed_fail "GRUB for BIOS on a GPT table needs a partition of type bios-grub" \
	's/table: msdos/table: gpt/'
expect_sed_fail "bad.yml:11:9: bootloader.type: 'grub-uefi' is not one of" \
	's/type: grub-hybrid/type: grub-uefi/'
# secure-boot: true is refused before the package lists are even read: no cache, no network.
sed 's/, shim-signed, grub-efi-amd64-signed//' r.yml >nosigned.yml
mkdir empty-cache
expect_fail "needs Debian's signed boot loaders" --offline --cache empty-cache check nosigned.yml
# An ESP without a mount point gets Debian's, /boot/efi.
sed 's|{type: vfat, mount: /boot/efi}|{type: vfat}|' r.yml >nomount.yml
mkbm --cache "$cache" check nomount.yml >plan || { cat "$WORK/stderr"; fail "check refused an ESP without mount"; }
grep -Eq '^  esp +vfat .* mount=/boot/efi$' plan || fail "the ESP is not at /boot/efi: $(grep -A4 ^filesystems plan)"
# grub-efi alone on GPT needs no bios-grub partition.
sed -e 's/table: msdos/table: gpt/' -e 's/type: grub-hybrid/type: grub-efi/' r.yml >efi.yml
mkbm --cache "$cache" check efi.yml >plan || { cat "$WORK/stderr"; fail "check refused grub-efi on GPT"; }
grep -q "GRUB for BIOS" plan && fail "grub-efi planned a BIOS part"
true
