# examples/usb-debian.yml (bookworm minbase with sysvinit, configured through the user
# namespace, Debian's kernel, GRUB from the image's own grub-pc-bin) is checked offline
# with debugfs, then boots in QEMU under TCG from a USB key on xHCI: its test: section logs
# in as root on ttyS0 with the recipe's password and checks the configured system
# (runlevel 3, dpkg --audit, every package ii, awk, the run: step's motd, cron disabled).
# Then the same image boots under OVMF with Secure Boot enforcing (the key is hybrid): shim
# signed by Microsoft, GRUB and the kernel by Debian (sbverify), the guest reads SecureBoot=1.
# The build's log shows the maintainer scripts saw a chroot.
ex=$CASE/../../../examples/usb-debian.yml
cache=$(test_cache)
mkbm -v --cache "$cache" "$ex" -o out/u.img -D grub_timeout=0 ||
	{ cat "$WORK/stderr"; fail "build"; }
grep -q "GRUB files from the target" "$WORK/stderr" || fail "GRUB not taken from the image"
# The maintainer scripts ran as in a chroot build: sysvinit's postinst says so itself (else
# it spends 45 s asking an init that is not there to re-exec).
grep -q "configure| Not restarting sysvinit$" "$WORK/stderr" ||
	fail "sysvinit-core's postinst did not see a chroot: $(grep -m3 'sysvinit:' "$WORK/stderr")"
part_extract out/u.img 1 esp.fs
part_extract out/u.img 2 boot.fs
part_extract out/u.img 3 root.fs
fsck_clean boot.fs
fsck_clean root.fs
cfg=$(cat_file boot.fs /grub/grub.cfg)
expect_match "$cfg" "^menuentry 'Debian GNU/Linux 12 \(bookworm\), Linux [0-9.]+-[0-9]+-amd64' \{" "entry title"
expect_match "$cfg" "single-user mode" "rescue entry"
cat_file root.fs /etc/fstab | grep >/dev/null -Ec '^tmpfs +/tmp +tmpfs' || fail "fstab: /tmp"

# Configured: every package installed, base-passwd's and the recipe's accounts.
status=$(cat_file root.fs /var/lib/dpkg/status)
n=$(grep -c '^Status: install ok installed$' <<<"$status")
[ "$n" -gt 100 ] || fail "$n packages installed"
[ "$(grep -c '^Status: ' <<<"$status")" = "$n" ] ||
	fail "not all installed: $(grep '^Status: ' <<<"$status" | sort | uniq -c)"
expect_match "$(cat_file root.fs /etc/passwd)" '^daemon:x:1:1:' "base-passwd's passwd"
expect_match "$(cat_file root.fs /etc/shadow)" '^root:\$6\$privdebroot\$EEBDxlJb' "root's hash"
expect_eq "$(cat_file root.fs /etc/hostname)" "privdeb" "hostname"
expect_match "$(cat_file root.fs /etc/hosts)" $'^127.0.1.1\tprivdeb$' "hosts"
expect_eq "$(symlink_target root.fs /etc/localtime)" "/usr/share/zoneinfo/Europe/Paris" "localtime"
expect_match "$(cat_file root.fs /etc/inittab)" '^id:3:initdefault:$' "initdefault"
dbg root.fs "ls /etc/rc3.d" | grep >/dev/null -c 'K[0-9]*cron' || fail "cron not disabled"
dbg root.fs "ls /etc/rc3.d" | grep >/dev/null -c 'S[0-9]*cron' && fail "cron still enabled"
[ -z "$(dbg root.fs 'stat /usr/sbin/policy-rc.d' | grep Inode)" ] || fail "policy-rc.d left"
expect_match "$(cat_file root.fs /etc/apt/sources.list)" \
	'^deb http://deb.debian.org/debian bookworm main$' "sources.list"

"$MKBOOTMEDIA" boot --test "$ex" out/u.img --log console.log >boot.out 2>&1 ||
	{ cat boot.out; tail -c 3000 console.log; fail "boot, login and checks"; }
grep -q "^boot: 'login: ?\$' after" boot.out || fail "no boot time: $(cat boot.out)"

# UEFI: the ESP passes fsck.fat, holds the removable-media path and Debian's, each binary
# signed by whom Secure Boot expects.
fsck.fat -n esp.fs >fsck.out 2>&1 || { cat fsck.out; fail "fsck.fat -n on the ESP"; }
expect_eq "$(mdir -i esp.fs -/ -b :: | sort | paste -sd' ')" \
	"::/EFI/ ::/EFI/BOOT/ ::/EFI/BOOT/BOOTX64.EFI ::/EFI/BOOT/grub.cfg ::/EFI/BOOT/grubx64.efi ::/EFI/BOOT/mmx64.efi ::/EFI/debian/ ::/EFI/debian/grub.cfg ::/EFI/debian/grubx64.efi ::/EFI/debian/mmx64.efi ::/EFI/debian/shimx64.efi" \
	"the ESP's files"
mcopy -n -i esp.fs ::/EFI/BOOT/BOOTX64.EFI ::/EFI/BOOT/grubx64.efi .
dbg boot.fs "dump /$(dbg boot.fs 'ls -p /' | awk -F/ '$6 ~ /^vmlinuz-/ { print $6 }') vmlinuz"
sbverify --list BOOTX64.EFI 2>/dev/null | grep -q 'CN=Microsoft Corporation UEFI CA 2011$' ||
	fail "shim is not signed by Microsoft's UEFI CA: $(sbverify --list BOOTX64.EFI 2>&1)"
sbverify --list grubx64.efi 2>/dev/null | grep -q 'subject: /CN=Debian Secure Boot Signer .* - grub2$' ||
	fail "GRUB is not signed by Debian: $(sbverify --list grubx64.efi 2>&1)"
sbverify --list vmlinuz 2>/dev/null | grep -q 'subject: /CN=Debian Secure Boot Signer .* - linux$' ||
	fail "the kernel is not signed by Debian: $(sbverify --list vmlinuz 2>&1)"
expect_match "$(mtype -i esp.fs ::/EFI/debian/grub.cfg)" "search --no-floppy --set=root --label PRIVDEB_BOOT" \
	"the ESP's grub.cfg"
"$MKBOOTMEDIA" boot --firmware uefi-secure --test "$ex" out/u.img --log uefi.log >uefi.out 2>&1 ||
	{ cat uefi.out; tail -c 3000 uefi.log; fail "UEFI Secure Boot: login and the test: section"; }
grep -q "SecureBoot: 1" uefi.log || fail "Secure Boot was not on: $(grep SecureBoot uefi.log)"
