# mkbootmedia boot --firmware uefi|uefi-secure: OVMF really runs (its own lines on the serial
# console); with Secure Boot it refuses its own unsigned shell; each run's copy of the UEFI
# variables is private and removed afterwards (also when killed); test.firmware and the steps'
# firmware: keys; missing OVMF files and bad names are one clear error.
cp "$CASE"/recipe.yml .
mkdir tmp
export TMPDIR=$WORK/tmp

# No copy of the variable store is left in $TMPDIR.
tmp_empty() {
	left=$(ls -A "$TMPDIR")
	[ -z "$left" ] || fail "left in TMPDIR after $1: $left"
}

# A disk with one Linux partition and no EFI system partition: nothing for OVMF to boot.
truncate -s 8M disk.img
printf 'label: gpt\n,,L\n' | sfdisk -q disk.img
sfdisk -d disk.img | grep -q 'type=0FC63DAF-8483-4772-8E79-3D69D8477DE4' || fail "sfdisk"
! sfdisk -d disk.img | grep -qi 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B' || fail "an ESP"

# Names and the recipe's keys, checked before anything runs.
boot_fail 2 "--firmware 'bogus': expected bios, uefi, uefi-secure or uefi-ia32" disk.img --firmware bogus \
	--expect x
"$MKBOOTMEDIA" check recipe.yml >/dev/null 2>err.txt || { cat err.txt; fail "check recipe.yml"; }
printf 'image: {size: 1MiB}\ntest:\n  firmware: nonsense\n  steps: [{expect: a}]\n' >bad.yml
expect_fail "bad.yml:3:13: test.firmware: 'nonsense' is not one of bios, uefi, uefi-secure, uefi-ia32" \
	check bad.yml
boot_fail 1 "bad.yml:3:13: test.firmware: 'nonsense' is not one of bios, uefi, uefi-secure, uefi-ia32" \
	disk.img --test bad.yml
printf 'image: {size: 1MiB}\ntest:\n  steps:\n    - {expect: a, firmware: [uefi, efi]}\n' >bad2.yml
expect_fail "bad2.yml:4:36: test.steps[0].firmware[1]: 'efi' is not one of bios, uefi" \
	check bad2.yml
printf 'image: {size: 1MiB}\ntest:\n  steps:\n    - {secure-boot: yes, output: x}\n' >bad3.yml
expect_fail "bad3.yml:4:26: test.steps[0].output: only a 'run' step has 'output'" check bad3.yml
# Every step kept to UEFI: a BIOS boot would have none.
printf 'image: {size: 1MiB}\ntest:\n  steps:\n    - {expect: a, firmware: uefi}\n' >uefi-only.yml
boot_fail 1 "no step of the test: section of 'uefi-only.yml' runs with --firmware bios" \
	disk.img --test uefi-only.yml

# OVMF's files missing: one error naming the file and the package, nothing left behind.
mkdir noovmf
MKBOOTMEDIA_OVMF_DIR=$WORK/noovmf boot_fail 1 \
	"firmware uefi: cannot read OVMF's '$WORK/noovmf/OVMF_CODE_4M.fd' (No such file or directory): apt-get install ovmf" \
	disk.img --firmware uefi --expect x
tmp_empty "a missing OVMF"
[ -e /usr/share/OVMF/OVMF_CODE_4M.secboot.fd ] && cp /usr/share/OVMF/OVMF_CODE_4M.secboot.fd noovmf/
MKBOOTMEDIA_OVMF_DIR=$WORK/noovmf boot_fail 1 \
	"firmware uefi-secure: cannot read OVMF's '$WORK/noovmf/OVMF_VARS_4M.ms.fd' (No such file" \
	disk.img --test recipe.yml
tmp_empty "a missing OVMF variable store"

if ! command -v qemu-system-x86_64 >/dev/null || [ ! -e /usr/share/OVMF/OVMF_VARS_4M.ms.fd ]; then
	echo "qemu-system-x86_64 or OVMF (apt-get install ovmf) not installed: no UEFI boot" >&2
	return 0
fi
vars_sum=$(cat /usr/share/OVMF/OVMF_VARS_4M.fd /usr/share/OVMF/OVMF_VARS_4M.ms.fd | sha256sum)

# Plain UEFI on USB: OVMF finds nothing to boot on the disk and starts its own shell.
"$MKBOOTMEDIA" boot disk.img --firmware uefi --accel tcg --timeout 60 \
	--expect '^BdsDxe: failed to load Boot[0-9A-F]+ .*USB' --expect '^UEFI Interactive Shell' \
	-v -v >out.txt 2>err.txt || { cat out.txt err.txt; fail "boot --firmware uefi"; }
grep -q "^debug: boot: running qemu-system-x86_64 .* -accel tcg -machine q35 -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd -drive if=pflash,format=raw,unit=1,file=$TMPDIR/mkbootmedia-uefi-[A-Za-z0-9]\{6\}/OVMF_VARS_4M.fd -serial stdio .*-device usb-storage,bus=xhci.0,drive=disk0,bootindex=1$" err.txt ||
	{ cat err.txt; fail "QEMU command line for uefi"; }
tmp_empty "boot --firmware uefi"

# Secure Boot enforcing (on IDE, q35's AHCI): OVMF refuses its unsigned shell.
"$MKBOOTMEDIA" boot disk.img --firmware uefi-secure --bus ide --accel tcg --timeout 60 \
	--expect '^BdsDxe: failed to load Boot[0-9A-F]+ .*Sata' \
	--expect '"EFI Internal Shell" .*: Security Violation$' --expect 'No bootable option' \
	-v -v >out.txt 2>err.txt || { cat out.txt err.txt; fail "boot --firmware uefi-secure"; }
grep -q "^debug: boot: running .* -machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd -drive if=pflash,format=raw,unit=1,file=$TMPDIR/mkbootmedia-uefi-[A-Za-z0-9]\{6\}/OVMF_VARS_4M.ms.fd -serial stdio .*-device ide-hd,bus=ide.0,drive=disk0,bootindex=1$" err.txt ||
	{ cat err.txt; fail "QEMU command line for uefi-secure"; }
tmp_empty "boot --firmware uefi-secure"

# The other way round, the same expectations fail: plain UEFI runs its shell (no Security
# Violation), and SeaBIOS prints no OVMF line.
boot_fail 1 "step 1 (expect 'Security Violation') timed out" disk.img --firmware uefi \
	--accel tcg --expect 'Security Violation' --timeout 15
grep -q '^UEFI Interactive Shell' out.txt || { cat out.txt; fail "uefi: no shell"; }
tmp_empty "a failed UEFI boot"
boot_fail 1 "step 1 (expect 'BdsDxe') timed out" disk.img --accel tcg --expect BdsDxe --timeout 8

# The recipe: test.firmware (uefi-secure), on virtio; --firmware uefi runs the steps kept
# to uefi instead.
"$MKBOOTMEDIA" boot disk.img --accel tcg --test recipe.yml -v -v >out.txt 2>err.txt ||
	{ cat out.txt err.txt; fail "boot --test (test.firmware: uefi-secure)"; }
grep -q "^debug: boot: running .*OVMF_CODE_4M.secboot.fd .*-device virtio-blk-pci,drive=disk0,bootindex=1$" err.txt ||
	{ cat err.txt; fail "test.firmware"; }
grep -q "^debug: boot: step 3 (expect 'No bootable option')$" err.txt || { cat err.txt; fail "uefi-secure steps"; }
! grep -q "UEFI Interactive Shell'" err.txt || fail "a step kept to uefi ran under uefi-secure"
"$MKBOOTMEDIA" boot disk.img --accel tcg --test recipe.yml --firmware uefi -v -v >out.txt 2>err.txt ||
	{ cat out.txt err.txt; fail "boot --test --firmware uefi"; }
grep -q "^debug: boot: running .*OVMF_CODE_4M.fd .*OVMF_VARS_4M.fd " err.txt || { cat err.txt; fail "--firmware over test.firmware"; }
grep -q "^debug: boot: step 2 (expect '^UEFI Interactive Shell')$" err.txt || { cat err.txt; fail "uefi steps"; }
tmp_empty "boot --test"

# Interactive (on a terminal, made by script(1)): QEMU runs as a child, so the copy is removed
# after it; Ctrl-A X once OVMF has printed its first line.
if command -v script >/dev/null; then
	(for _ in $(seq 120); do
		grep -q BdsDxe console.log 2>/dev/null && break
		sleep 0.5
	done
	printf '\001x') | script -qec "'$MKBOOTMEDIA' boot disk.img --firmware uefi --accel tcg --log console.log" /dev/null >out.txt 2>&1 ||
		{ cat out.txt; fail "interactive UEFI boot"; }
	grep -q '^BdsDxe: ' console.log || { cat out.txt; fail "interactive: no OVMF output"; }
	tmp_empty "an interactive UEFI boot"
fi

# Killed while it runs: the copy of the variables is removed all the same.
"$MKBOOTMEDIA" boot disk.img --firmware uefi-secure --accel tcg --expect never --timeout 60 \
	>out.txt 2>err.txt &
pid=$!
for _ in $(seq 100); do
	[ -n "$(ls -A "$TMPDIR")" ] && break
	sleep 0.1
done
copy=$(ls "$TMPDIR"/mkbootmedia-uefi-*/OVMF_VARS_4M.ms.fd) || fail "no copy of the variables while running"
expect_eq "$(stat -c %a "$(dirname "$copy")")" 700 "the copy's directory is private"
sleep 1
kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
expect_eq "$rc" 143 "killed by SIGTERM"
tmp_empty "SIGTERM"

# The system's variable stores were only read.
expect_eq "$(cat /usr/share/OVMF/OVMF_VARS_4M.fd /usr/share/OVMF/OVMF_VARS_4M.ms.fd | sha256sum)" \
	"$vars_sum" "OVMF's own variable stores"
