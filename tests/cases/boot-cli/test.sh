# mkbootmedia boot: usage errors (exit 2), test: sections checked at file:line:col (exit 1),
# and, when QEMU is installed, a real boot under TCG of a hand-made boot sector.
cp "$CASE"/recipe.yml .


"$MKBOOTMEDIA" boot --help | grep >/dev/null -c '^Usage: mkbootmedia boot IMAGE' || fail "boot --help"
"$MKBOOTMEDIA" --help | grep >/dev/null -c 'mkbootmedia boot IMAGE' || fail "boot in --help"

# The image: built by mkbootmedia (an msdos table, 55 AA), then the boot code over the first
# 102 bytes. 16-bit code, assembled once with `as --32` (.code16) at 0x7c00:
#   cli; xor ax,ax; mov ds,ax; mov ss,ax; mov sp,0x7c00; mov si,msg
#   print: lodsb; test al,al; jz echo; call putc; jmp print
#   echo:  in al,0x3fd until bit 0 (data ready); in al,0x3f8; cmp al,'p'; je reset
#          call putc; cmp al,'\r'; jne echo; mov al,'\n'; call putc; jmp echo
#   reset: lidt [an IDT of limit 0]; int3       (a triple fault: the machine resets)
#   putc:  mov bl,al; in al,0x3fd until bit 5 (THR empty); mov al,bl; out 0x3f8,al; ret
#   msg:   "mkb-sector: hello\r\n"
sector=fa31c08ed88ed0bc007cbe527cac84c07405e82600ebf6bafd03eca80174
sector=${sector}fbbaf803ec3c70740ee811003c0d75e9b00ae80800ebe20f011e4c7ccc88
sector=${sector}c3bafd03eca82074fb88d8baf803eec30000000000006d6b622d73656374
sector=${sector}6f723a2068656c6c6f0d0a00
"$MKBOOTMEDIA" -q build recipe.yml -o out/disk.img --no-bmap
mv out/disk.img disk.img # out/ stays empty for expect_fail
printf '%s' "$sector" | xxd -r -p | dd of=disk.img conv=notrunc status=none
expect_eq "$(xxd -s 510 -l 2 -p disk.img)" 55aa "boot signature"
sum=$(sha256sum <disk.img)
mkdir adir
: >empty.img

# Usage errors: exit 2, one message.
boot_fail 2 "no image given" --expect x
boot_fail 2 "cannot open image 'missing.img': No such file or directory" missing.img --expect x
boot_fail 2 "image 'adir' is a directory" adir --expect x
boot_fail 2 "image 'empty.img' is smaller than a sector" empty.img --expect x
boot_fail 2 "--bus 'uas': expected usb, ide or virtio" disk.img --bus uas --expect x
boot_fail 2 "--accel 'hvf': expected auto, kvm or tcg" disk.img --accel hvf --expect x
boot_fail 2 "--firmware 'bogus': expected bios, uefi, uefi-secure or uefi-ia32" disk.img --firmware bogus \
	--expect x
boot_fail 2 "--secure-boot 'maybe': expected yes or no" disk.img --secure-boot maybe
for f in 22 :22 2222: 0:22 2222:70000 a:22 "2222:22 "; do
	boot_fail 2 "--forward '$f': expected HOSTPORT:GUESTPORT" disk.img --forward "$f" --expect x
done
boot_fail 2 "--host needs a command" disk.img --host ''
boot_fail 2 "--output 'x' must follow a --run or --host" disk.img --expect y --output x
boot_fail 2 "--test takes the steps from 'recipe.yml'" disk.img --test recipe.yml --secure-boot no
boot_fail 2 "--memory '12XB'" disk.img -m 12XB --expect x
boot_fail 2 "--timeout '0': expected seconds" disk.img --timeout 0 --expect x
boot_fail 2 "--expect '(x': not an extended regular expression" disk.img --expect '(x'
boot_fail 2 "--output 'x' must follow a --run" disk.img --expect a --output x
boot_fail 2 "--send 'a\\q': bad escape" disk.img --send 'a\q'
boot_fail 2 "unexpected argument 'more.img'" disk.img more.img --expect x
boot_fail 2 "no steps given and stdin is not a terminal" disk.img
boot_fail 2 "cannot open log 'nodir/console.log'" disk.img --log nodir/console.log --expect x
boot_fail 2 "--test takes the steps from 'recipe.yml'" disk.img --test recipe.yml --expect x
if [ "$(id -u)" != 0 ]; then
	cp disk.img locked.img && chmod 000 locked.img
	boot_fail 2 "cannot open image 'locked.img': Permission denied" locked.img --expect x
fi

# test: sections: accepted by check, errors at their position before anything is built or run.
"$MKBOOTMEDIA" check recipe.yml >/dev/null 2>err.txt || { cat err.txt; fail "check with test:"; }
cat >bad.yml <<'YAML'
image: {size: 1MiB}
test:
  bus: ide
  steps:
    - expect: '(unclosed'
YAML
boot_fail 1 "bad.yml:5:15: test.steps[0].expect: '(unclosed' is not an extended regular expression" \
	disk.img --test bad.yml
grep -q '^error: bad.yml:5:15' err.txt || fail "recipe error without its position first"
expect_fail "bad.yml:5:15: test.steps[0].expect: '(unclosed' is not an extended regular" check bad.yml
expect_fail "bad.yml:5:15: test.steps[0].expect" bad.yml -o out/never.img
printf 'image: {size: 1MiB}\ntest:\n  bus: uas\n  steps: [{expect: a}]\n' >bad2.yml
boot_fail 1 "bad2.yml:3:8: test.bus: 'uas' is not one of usb, ide, virtio" disk.img --test bad2.yml
printf 'image: {size: 1MiB}\ntest:\n  steps:\n    - {expect: a, send: b}\n' >bad3.yml
expect_fail "bad3.yml:4:19: test.steps[0].send: one action per step (this one also has 'expect')" \
	check bad3.yml
printf 'image: {size: 1MiB}\n' >none.yml
boot_fail 1 "'none.yml' has no test: section" disk.img --test none.yml

if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "qemu-system-x86_64 not installed: no boot" >&2
	return 0
fi

# A real boot, TCG (deterministic here and on machines with KVM), on USB (the default bus).
"$MKBOOTMEDIA" boot disk.img --accel tcg --expect '^mkb-sector: hello$' \
	--send 'words\r' --expect '^words$' --poweroff -v >out.txt 2>err.txt ||
	{ cat out.txt err.txt; fail "boot with command-line steps"; }
expect_eq "$(cat out.txt)" "$(printf 'mkb-sector: hello\nwords')" "console copy on stdout"
grep -q '^debug: boot: running qemu-system-x86_64 .*-accel tcg .*snapshot=on -device qemu-xhci,id=xhci -device usb-storage,bus=xhci.0,drive=disk0,bootindex=1$' err.txt ||
	{ cat err.txt; fail "QEMU command line"; }
grep -q "^boot: accelerator: tcg$" err.txt || fail "accelerator message"
grep -Eq "^boot: '\^words\\$' after [0-9]+\.[0-9] s$" err.txt || { cat err.txt; fail "timing message"; }

# The recipe's steps, its bus (ide), --log instead of stdout; --bus overrides the section.
"$MKBOOTMEDIA" boot disk.img --accel tcg --test recipe.yml --log console.log -v \
	>out.txt 2>err.txt || { cat err.txt; fail "boot --test"; }
grep -q -- '-m 64 .*-device ide-hd,bus=ide.0,drive=disk0,bootindex=1$' err.txt || { cat err.txt; fail "test: bus and memory"; }
[ ! -s out.txt ] || fail "console on stdout despite --log"
expect_eq "$(od -An -c console.log | tr -s ' ' | tr -d '\n')" \
	" m k b - s e c t o r : h e l l o \r \n w o r d s \r \n" "console log"
"$MKBOOTMEDIA" boot disk.img --accel tcg --test recipe.yml --bus virtio -m 128 --log console.log -v \
	>out.txt 2>err.txt || { cat err.txt; fail "boot --test --bus virtio"; }
grep -q -- '-m 128 .*-device virtio-blk-pci,drive=disk0,bootindex=1$' err.txt || { cat err.txt; fail "--bus over test: bus"; }
expect_eq "$(grep -c 'mkb-sector: hello' console.log)" 2 "--log appends"

# Failures: a timeout names the step; QEMU ending early (the reset) fails the pending step.
boot_fail 1 "step 2 (expect 'never') timed out after" disk.img --accel tcg \
	--expect hello --expect never --timeout 2 --bus ide
grep -Fq "(the overall timeout of 2 s)" err.txt || { cat err.txt; fail "overall timeout message"; }
grep -q '^mkb-sector: hello$' out.txt || fail "console not shown on a timeout"
boot_fail 1 "step 3 (expect 'never') failed: qemu-system-x86_64 exited with status 0" \
	disk.img --accel tcg --expect hello --send p --expect never
grep -q '^    | mkb-sector: hello$' err.txt || { cat err.txt; fail "last console lines"; }

# Booting never changed the image.
expect_eq "$(sha256sum <disk.img)" "$sum" "image unchanged"

# The passphrase for an encrypted image's prompt: from a readable one-line file only.
printf 'two\nlines\n' >twolines
boot_fail 2 "--passphrase-file: cannot read 'nofile'" disk.img --passphrase-file nofile --expect x
boot_fail 2 "--passphrase-file 'empty.img': expected one line, not empty" disk.img \
	--passphrase-file empty.img --expect x
boot_fail 2 "--passphrase-file 'twolines': expected one line" disk.img --passphrase-file twolines \
	--expect x
boot_fail 2 "--send-passphrase needs --passphrase-file" disk.img --send-passphrase
