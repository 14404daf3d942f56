# UEFI and Secure Boot, without root. examples/minimal-busybox-uefi.yml (GPT, an ESP with
# Debian's signed shim and GRUB) is checked offline (fsck.fat, mdir, sbverify), is
# reproducible ESP included, and its test: section passes under OVMF with Secure Boot
# enforcing. The negative: the same image with an unsigned GRUB in place of the signed one
# must not boot under Secure Boot (shim refuses it), so the positive boot can fail.
# Then a GPT hybrid with an unsigned GRUB (secure-boot: false, ia32: true) boots every way:
# SeaBIOS through the bios-grub partition, OVMF without Secure Boot through BOOTX64.EFI,
# 32-bit OVMF through BOOTIA32.EFI.
ex=$CASE/../../../examples/minimal-busybox-uefi.yml
cache=$(test_cache)
mkbm --cache "$cache" "$ex" -o out/s.img -D grub_timeout=0 || { cat "$WORK/stderr"; fail "build"; }
expect_eq "$(part_field out/s.img 1 type)" "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" "the ESP's type"
part_extract out/s.img 1 esp.fs
fsck.fat -n esp.fs >fsck.out 2>&1 || { cat fsck.out; fail "fsck.fat -n on the ESP"; }
expect_match "$(minfo -i esp.fs :: | grep 'disk label')" 'MINI_ESP' "the ESP's label"
for f in BOOT/BOOTX64.EFI BOOT/grubx64.efi BOOT/mmx64.efi BOOT/grub.cfg debian/shimx64.efi \
	debian/grubx64.efi debian/mmx64.efi debian/grub.cfg; do
	mdir -i esp.fs -b "::/EFI/$f" >/dev/null 2>&1 || fail "no /EFI/$f on the ESP"
done
mdir -i esp.fs -b ::/EFI/BOOT | grep -qi fbx64 && fail "fbx64.efi would write NVRAM entries"
mcopy -n -i esp.fs ::/EFI/BOOT/BOOTX64.EFI ::/EFI/BOOT/grubx64.efi ::/EFI/debian/shimx64.efi .
cmp BOOTX64.EFI shimx64.efi || fail "/EFI/BOOT and /EFI/debian hold different shims"
sbverify --list BOOTX64.EFI 2>/dev/null | grep -q 'CN=Microsoft Corporation UEFI CA 2011$' ||
	fail "BOOTX64.EFI is not signed by Microsoft's UEFI CA: $(sbverify --list BOOTX64.EFI 2>&1)"
sbverify --list grubx64.efi 2>/dev/null | grep -q 'subject: /CN=Debian Secure Boot Signer .* - grub2$' ||
	fail "grubx64.efi is not signed by Debian: $(sbverify --list grubx64.efi 2>&1)"
expect_eq "$(mtype -i esp.fs ::/EFI/BOOT/grub.cfg | grep -v '^#')" "search --no-floppy --set=root --label MINI_BOOT
set prefix=(\$root)/grub
configfile \$prefix/grub.cfg" "the ESP's grub.cfg"
# the same bytes again, ESP included
mkbm --cache "$cache" "$ex" -o out/s2.img -D grub_timeout=0 || { cat "$WORK/stderr"; fail "second build"; }
cmp out/s.img out/s2.img || fail "two builds differ"
rm out/s2.img out/s2.img.bmap

"$MKBOOTMEDIA" boot --test "$ex" out/s.img --log sb.log >sb.out 2>&1 ||
	{ cat sb.out; tail -c 3000 sb.log; fail "boot --test under OVMF with Secure Boot"; }
grep -q "SecureBoot: 1 (efivars)" sb.log || fail "the guest did not read SecureBoot=1: $(grep SecureBoot sb.log)"

# The negative: shim must refuse an unsigned GRUB.
grub-mkimage -O x86_64-efi -p /EFI/debian -o unsigned.efi normal linux part_gpt fat ext2 \
	search configfile || fail "grub-mkimage"
start=$(part_field out/s.img 1 start)
mcopy -o -i "out/s.img@@$((start * 512))" unsigned.efi ::/EFI/BOOT/grubx64.efi
if "$MKBOOTMEDIA" boot --firmware uefi-secure out/s.img --timeout 45 --log neg.log \
	--expect 'minimal-busybox is up' >neg.out 2>&1; then
	fail "an unsigned GRUB booted under Secure Boot"
fi
grep -aq "Verification failed: (0x1A) Security Violation" neg.log ||
	{ tail -c 2000 neg.log; fail "shim did not refuse the unsigned GRUB"; }

# GPT hybrid, unsigned: secure-boot: false, GRUB made by grub-mkimage on this machine.
cat >hybrid.yml <<YAML
include: [$ex]
image: {seed: hybrid-unsigned}
partitions:
  - {name: bios, size: 1MiB, type: bios-grub}
  - {name: esp, size: 32MiB, type: efi, filesystem: {type: vfat, label: MINI_ESP, mount: /boot/efi}}
  - {name: boot, size: 48MiB, filesystem: {type: ext2, label: MINI_BOOT, mount: /boot}}
  - {name: rootfs, size: rest, filesystem: {type: ext2, label: MINI_ROOT, mount: /}}
packages:
  include: [linux-image-amd64, busybox-static]
bootloader: {type: grub-hybrid, secure-boot: false, ia32: true}
YAML
mkbm --cache "$cache" hybrid.yml -o out/h.img -D grub_timeout=0 || { cat "$WORK/stderr"; fail "build hybrid"; }
part_extract out/h.img 2 hesp.fs
fsck.fat -n hesp.fs >fsck.out 2>&1 || { cat fsck.out; fail "fsck.fat -n on the hybrid's ESP"; }
mcopy -n -i hesp.fs ::/EFI/BOOT/BOOTX64.EFI h.efi
sbverify --list h.efi 2>&1 | grep -q 'No signature table present' ||
	fail "secure-boot: false gave a signed BOOTX64.EFI: $(sbverify --list h.efi 2>&1)"
mdir -i hesp.fs -b ::/EFI/BOOT | grep -qi shim && fail "shim on an unsigned ESP"
# The PE machine field (at the offset 0x3c names, plus 4): 0x8664 x86-64, 0x014c i386.
pe_machine() {
	off=$(od -An -tu4 -j 60 -N4 "$1" | tr -d ' ')
	od -An -tx2 -j $((off + 4)) -N2 "$1" | tr -d ' '
}
mcopy -n -i hesp.fs ::/EFI/BOOT/BOOTIA32.EFI h32.efi
expect_eq "$(pe_machine h.efi)" 8664 "BOOTX64.EFI's machine"
expect_eq "$(pe_machine h32.efi)" 014c "BOOTIA32.EFI's machine"
# SeaBIOS: GRUB from the MBR through core.img in the bios-grub partition; no EFI, so the
# secure-boot step falls back to dmesg and finds it off.
"$MKBOOTMEDIA" boot --firmware bios out/h.img --timeout 120 --log h-bios.log \
	--expect 'minimal-busybox is up' --send '\n' \
	--run 'test -d /sys/firmware/efi && echo efi || echo bios' --output '^bios$' \
	--secure-boot no --poweroff >h-bios.out 2>&1 ||
	{ cat h-bios.out; tail -c 3000 h-bios.log; fail "the GPT hybrid on SeaBIOS"; }
# OVMF without keys: BOOTX64.EFI (unsigned GRUB). The guest reads SecureBoot=0 from
# efivarfs, so a step asking for Secure Boot on must fail there: the step can fail.
if "$MKBOOTMEDIA" boot --firmware uefi out/h.img --timeout 120 --log h-uefi.log \
	--expect 'minimal-busybox is up' --send '\n' \
	--run 'test -d /sys/firmware/efi && echo efi || echo bios' --output '^efi$' \
	--secure-boot yes --poweroff >h-uefi.out 2>&1; then
	fail "secure-boot yes passed under OVMF without Secure Boot"
fi
grep -q "SecureBoot: 0 (efivars)" h-uefi.log ||
	{ cat h-uefi.out; tail -c 3000 h-uefi.log; fail "the GPT hybrid on OVMF: no SecureBoot=0 read"; }
# 32-bit OVMF: BOOTIA32.EFI, the 64-bit kernel through EFI mixed mode.
"$MKBOOTMEDIA" boot --firmware uefi-ia32 out/h.img --timeout 120 --log h-ia32.log \
	--expect 'minimal-busybox is up' --send '\n' \
	--run 'cat /sys/firmware/efi/fw_platform_size' --output '^32$' \
	--poweroff >h-ia32.out 2>&1 ||
	{ cat h-ia32.out; tail -c 3000 h-ia32.log; fail "the GPT hybrid on 32-bit OVMF"; }
