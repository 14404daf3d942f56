# The secure-boot step in a real guest, busybox's ash: under OVMF without keys (--firmware
# uefi) it loads and mounts efivarfs itself, reads SecureBoot = 0 and passes for false and
# fails for true; under SeaBIOS (no efivars) it falls back to dmesg. Secure Boot enforcing
# needs signed binaries (shim, GRUB): the images with a UEFI boot loader test that.
if ! command -v qemu-system-x86_64 >/dev/null || [ ! -e /usr/share/OVMF/OVMF_VARS_4M.fd ]; then
	echo "qemu-system-x86_64 or OVMF (apt-get install ovmf) not installed: no UEFI boot" >&2
	return 0
fi
mkdir -p tmp
export TMPDIR=$WORK/tmp
cache=$(test_cache)
mkbm --cache "$cache" "$CASE"/recipe.yml -o out/g.img || { cat "$WORK/stderr"; fail "build"; }
mv out/g.img g.img

# The kernel, the initramfs and GRUB's command line, read with debugfs; copied with mtools
# onto the ESP with a startup.nsh for OVMF's shell (it runs it when nothing else boots).
part_extract g.img 2 boot.fs
cfg=$(cat_file boot.fs /grub/grub.cfg)
linux=$(printf '%s\n' "$cfg" | awk '$1 == "linux" { print; exit }')
kernel=$(printf '%s\n' "$linux" | awk '{ print $2 }')
args=$(printf '%s\n' "$linux" | cut -d' ' -f3- | sed 's/ quiet//; s/console=tty0 //')
initrd=$(printf '%s\n' "$cfg" | awk '$1 == "initrd" { print $2; exit }')
[ -n "$kernel" ] && [ -n "$initrd" ] || { echo "$cfg"; fail "no linux/initrd in grub.cfg"; }
dbg boot.fs "dump $kernel vmlinuz"
dbg boot.fs "dump $initrd initrd.img"
[ -s vmlinuz ] && [ -s initrd.img ] || fail "kernel or initrd not extracted"
printf 'fs0:\r\n\\vmlinuz %s initrd=\\initrd.img\r\n' "$args" >startup.nsh
esp=$(($(part_field g.img 1 start) * 512))
mcopy -i "g.img@@$esp" vmlinuz initrd.img startup.nsh ::/ || fail "mcopy to the ESP"
sum=$(sha256sum <g.img)

# UEFI (test.firmware): efivarfs mounted by the step, SecureBoot 0, then the same step
# asking for Secure Boot on must fail, saying what it read.
"$MKBOOTMEDIA" boot g.img --accel tcg --test "$CASE"/recipe.yml --log uefi.log -v >out.txt 2>err.txt ||
	{ cat err.txt; tail -40 uefi.log; fail "boot --test (uefi)"; }
grep -q "^SecureBoot: 0 (efivars)" <(tr -d '\r' <uefi.log) || { tail -40 uefi.log; fail "uefi: SecureBoot not read from efivars"; }
tmp_left=$(ls -A tmp)
[ -z "$tmp_left" ] || fail "left in TMPDIR: $tmp_left"
set +e
"$MKBOOTMEDIA" boot g.img --firmware uefi --accel tcg --timeout 180 --expect 'guest is up' \
	--send '\n' --secure-boot no --secure-boot yes --log neg.log >out.txt 2>err.txt
rc=$?
set -e
expect_eq "$rc" 1 "--secure-boot yes under OVMF without keys"
grep -q "^error: boot: step 4 (secure-boot true) failed: output does not match" err.txt ||
	{ cat err.txt; fail "secure-boot true: message"; }
grep -q "| SecureBoot: 0 (efivars)$" err.txt || { cat err.txt; fail "secure-boot true: what it read"; }

# BIOS: GRUB boots the same image; no efivars, the kernel's log says Secure Boot is not on.
"$MKBOOTMEDIA" boot g.img --firmware bios --accel tcg --test "$CASE"/recipe.yml --log bios.log -v \
	>out.txt 2>err.txt || { cat err.txt; tail -40 bios.log; fail "boot --test --firmware bios"; }
grep -q "^SecureBoot: 0 (dmesg)" <(tr -d '\r' <bios.log) || { tail -40 bios.log; fail "bios: not the dmesg fallback"; }

expect_eq "$(sha256sum <g.img)" "$sum" "image unchanged by booting"
