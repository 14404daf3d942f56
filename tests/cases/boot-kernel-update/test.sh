# A key keeps booting across a kernel update (issue 21), with initrd.generator: mkbootmedia
# (the default): examples/usb-debian.yml, with bookworm-backports' kernel (another version
# line, 6.12 against bookworm's 6.1; its linux-base (>= 4.12~) is bookworm's) as a .deb in /root, boots
# under TCG (BIOS); as root, dpkg -i installs them: dpkg runs the kernel hooks, which make
# the new kernel's initramfs and put it first in GRUB's menu, and it honours the recipe's
# path filters (kernel-slim.yml: no sound modules, ext4's kept). Rebooted (--write keeps the
# changes), uname -r is the new kernel and its initramfs found the root by label; apt-get
# purges the old kernel; rebooted again (under UEFI with Secure Boot), the key still boots
# the new one.
# Negative: a copy of the image taken before, without the hooks and update-grub's diversion
# (what generator none leaves out: grub2-common's update-grub then makes the menu), gets
# the same kernel installed: it boots no more.
cache=$(test_cache)
bpo=$cache/apt-bookworm-backports
mkdir -p "$bpo/lists/partial" "$bpo/cache" "$bpo/debs"
if ! ls "$bpo"/debs/linux-image-*.deb >/dev/null 2>&1; then
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main" >"$bpo/sources.list"
	apt=(-o Dir::Etc::SourceList="$bpo/sources.list" -o Dir::Etc::SourceParts=/nonexistent
		-o Dir::State::Lists="$bpo/lists" -o Dir::Cache="$bpo/cache" -o Debug::NoLocking=1
		-o APT::Sandbox::User=root)
	apt-get "${apt[@]}" -q update >apt.log 2>&1 || { cat apt.log; fail "apt-get update (bookworm-backports)"; }
	# the kernel the metapackage names, e.g. linux-image-6.12.95+deb12-amd64
	k=$(apt-cache "${apt[@]}" depends linux-image-amd64 | sed -n 's/^  Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
	[ -n "$k" ] || fail "no kernel in bookworm-backports"
	(cd "$bpo/debs" && apt-get "${apt[@]}" -q download "$k") >>apt.log 2>&1 ||
		{ cat apt.log; fail "apt-get download $k"; }
fi
kdeb=$(ls "$bpo"/debs/linux-image-*.deb | head -n1)
new=$(dpkg-deb -f "$kdeb" Package | sed 's/^linux-image-//')
[ -n "$new" ] || fail "no kernel version in $kdeb"
cp "$kdeb" linux-image.deb

ex=$(cd "$CASE/../../../examples" && pwd)/usb-debian.yml
# kernel-slim's path filters reach the image's dpkg (/etc/dpkg/dpkg.cfg.d/mkbootmedia), so
# the new kernel stays as lean (and TCG quick) as the build's.
cat >r.yml <<EOR
include: [$ex]
files:
  - {path: /root/linux-image.deb, source: linux-image.deb}
EOR
mkbm --cache "$cache" r.yml -o out/u.img -D grub_timeout=0 || { cat "$WORK/stderr"; fail "build"; }
old=$(sed -n 's/^initrd: kernel \([^ ]*\) .*/\1/p' "$WORK/stderr")
[ -n "$old" ] && [ "$old" != "$new" ] || fail "kernels: old '$old', new '$new'"
cp --sparse=always out/u.img nohooks.img
# the versions as extended regular expressions ("6.12.95+deb12-amd64": '.' and '+')
re_old=$(sed 's/[.+]/\\&/g' <<<"$old")
re_new=$(sed 's/[.+]/\\&/g' <<<"$new")

fw=()
# poweroff -f leaves ext2 not cleanly unmounted (the next boot's fsck may then ask for a
# restart, which QEMU's -no-reboot ends): / and /boot read-only first, as a shutdown does.
unmount='sync; umount /boot/efi 2>/dev/null; mount -o remount,ro /boot && mount -o remount,ro / && sync'
login=(--expect 'login: ?$' --send 'root\n' --expect 'Password: ?$' --send 'mkbootmedia\n'
	--expect '# ?$')
boot() { # LOG STEPS...: a BIOS boot of out/u.img that keeps what the guest writes
	log=$1
	shift
	"$MKBOOTMEDIA" boot out/u.img ${fw[@]+"${fw[@]}"} --write --timeout 900 --log "$log" "${login[@]}" "$@" \
		--run "$unmount" --poweroff >"$log.out" 2>&1 ||
		{ tail -n 30 "$log.out"; fail "boot ($log)"; }
}
# grub2-common's update-grub (run by its own kernel hook too) is diverted to ours.
boot 1.log --run "uname -r" --output "^$re_old\$" \
	--run 'dpkg-divert --list /usr/sbin/update-grub' --output 'local diversion of /usr/sbin/update-grub to /usr/sbin/update-grub.distrib' \
	--run 'dpkg -i /root/linux-image.deb' \
	--run "dpkg-query -W -f '\${db:Status-Abbrev}' linux-image-$new" --output '^ii ?$' \
	--run "grep -cxF 'path-exclude=/lib/modules/*/kernel/*' /etc/dpkg/dpkg.cfg.d/mkbootmedia" --output '^1$' \
	--run "find /lib/modules/$new/kernel/sound -type f | wc -l" --output '^0$' \
	--run "find /lib/modules/$new/kernel/fs/ext4 -type f | wc -l" --output '^[1-9]' \
	--run "test -s /boot/initrd.img-$new" \
	--run "grep -m1 '^menuentry' /boot/grub/grub.cfg" --output ", Linux $re_new'" \
	--run "grep -c '^submenu .Linux $old' /boot/grub/grub.cfg" --output '^1$' \
	--run "update-grub && grep -m1 '^menuentry' /boot/grub/grub.cfg" --output ", Linux $re_new'"
grep -aq "mkbootmedia-initrd: /boot/initrd.img-$new" 1.log || fail "the postinst hook did not run: $(grep -a mkbootmedia 1.log)"
boot 2.log --run "uname -r" --output "^$re_new\$" \
	--run "grep ' / ' /proc/mounts" --output '^/dev/sd[a-z][0-9]+ / ext2 ' \
	--run "DEBIAN_FRONTEND=noninteractive apt-get -q -y purge linux-image-$old" \
	--run "ls /boot" --run "test ! -e /boot/vmlinuz-$old && test ! -e /boot/initrd.img-$old" \
	--run "! grep -qF $old /boot/grub/grub.cfg"
# Rebooted after the purge, under UEFI with Secure Boot: the ESP's grub.cfg reads the same
# menu; shim and GRUB check the new kernel (Debian signs it), the initramfs finds the root.
fw=(--firmware uefi-secure)
boot 3.log --run "uname -r" --output "^$re_new\$" --run "test -z \"\$(dpkg --audit)\"" --secure-boot yes
grep -aq "Booting .*, Linux $new'" 3.log || fail "GRUB did not boot the new kernel's entry"
fw=()

# Without the hooks, the same update leaves a key that does not boot: grub-mkconfig puts
# the new kernel first, and it has no initramfs to mount the root with. (Purging the old
# one is not needed to show it, and from the old kernel running it would ask.) GRUB's
# defaults are given the serial console, so the log shows why.
mv nohooks.img out/u.img
boot 4.log --run 'rm /etc/kernel/postinst.d/zz-mkbootmedia /etc/kernel/postrm.d/zz-mkbootmedia' \
	--run 'rm /usr/sbin/update-grub && dpkg-divert --local --rename --remove /usr/sbin/update-grub' \
	--run "printf '%s\\n' GRUB_TERMINAL=serial 'GRUB_SERIAL_COMMAND=\"serial --unit=0 --speed=115200\"' GRUB_CMDLINE_LINUX=console=ttyS0,115200 >>/etc/default/grub" \
	--run 'dpkg -i /root/linux-image.deb' \
	--run "test ! -e /boot/initrd.img-$new" \
	--run "grep -m1 '^[[:space:]]*linux' /boot/grub/grub.cfg" --output "/vmlinuz-$re_new "
boot_fail 1 "timed out" out/u.img --timeout 100 --log 5.log "${login[@]}"
grep -aq "Unable to mount root fs" 5.log || fail "the old key did not fail for want of an initramfs: $(tail -c 1500 5.log)"
