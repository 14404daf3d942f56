# examples/usb-debian.yml (bookworm minbase, sysvinit, Debian's kernel, GRUB from the
# image's own grub-pc-bin) boots in QEMU under TCG from a USB key on xHCI to the login
# prompt on ttyS0; its test: section passes. Logging in needs the configured system of a
# later release (PAM, /etc/passwd), so the second boot swaps the serial getty's login
# program for a shell (the recipe's serial_getty variable) and checks, through the serial
# console, that the root is the partition labelled PRIVDEB_ROOT and /tmp a tmpfs.
ex=$CASE/../../../examples/usb-debian.yml
cache=$(test_cache)
mkbm --cache "$cache" "$ex" -o out/u.img -D grub_timeout=0 ||
	{ cat "$WORK/stderr"; fail "build"; }
grep -q "GRUB files from the target" "$WORK/stderr" || fail "GRUB not taken from the image"
part_extract out/u.img 1 boot.fs
part_extract out/u.img 2 root.fs
fsck_clean boot.fs
fsck_clean root.fs
cfg=$(cat_file boot.fs /grub/grub.cfg)
expect_match "$cfg" "^menuentry 'Debian GNU/Linux 12 \(bookworm\), Linux [0-9.]+-[0-9]+-amd64' \{" "entry title"
expect_match "$cfg" "single-user mode" "rescue entry"
cat_file root.fs /etc/fstab | grep >/dev/null -Ec '^tmpfs +/tmp +tmpfs' || fail "fstab: /tmp"

"$MKBOOTMEDIA" boot --test "$ex" out/u.img --log console.log >boot.out 2>&1 ||
	{ cat boot.out; tail -c 3000 console.log; fail "boot to login"; }
grep -q "^boot: 'login: ?\$' after" boot.out || fail "no boot time: $(cat boot.out)"

mkbm --cache "$cache" "$ex" -o out/s.img -D grub_timeout=0 \
	-D serial_getty='/sbin/agetty -L -l /bin/sh -o -l ttyS0 115200 vt100' ||
	{ cat "$WORK/stderr"; fail "build with a shell on ttyS0"; }
"$MKBOOTMEDIA" boot out/s.img --timeout 300 --log shell.log \
	--expect 'login: ?$' --send 'root\n' --expect '# ?$' \
	--run 'test "$(findfs LABEL=PRIVDEB_ROOT)" = "$(grep " / " /proc/mounts | cut -d" " -f1)"' \
	--run 'grep " /tmp " /proc/mounts' --output '^tmpfs /tmp tmpfs ' \
	--run 'cat /proc/cmdline' --output 'root=LABEL=PRIVDEB_ROOT ro quiet console=tty0 console=ttyS0,115200' \
	--run 'ls /lib/modules/$(uname -r)/kernel/fs/ext4' --output 'ext4.ko' \
	--poweroff >shell.out 2>&1 || { cat shell.out; tail -c 3000 shell.log; fail "commands"; }
