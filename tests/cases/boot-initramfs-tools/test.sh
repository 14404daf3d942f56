# initrd.generator: initramfs-tools: examples/usb-debian.yml with Debian's initramfs-tools
# instead of the linux-initramfs-tool stand-in. The configure stage's mkinitramfs makes the
# initrd, once, after the last package (its layout: Debian's scripts/ and conf/, none of our /init), the menu points at it,
# the kernel hooks write only the menu (initramfs-tools' own hooks make the initrd; a newer
# kernel's hook run offline puts it first), and the key boots to the example's test: section
# under TCG (BIOS). The refusals are in
# fail-initrd-generator.
ex=$(cd "$CASE/../../../examples" && pwd)/usb-debian.yml
cache=$(test_cache)
sed -e 's|  provides: \[linux-initramfs-tool\]|  provides: []|' -e 's|            cron\]|            cron, initramfs-tools]|' \
	-e "s|\\.\\./recipes/|$(dirname "$ex")/../recipes/|; s|\\.\\./overlays/|$(dirname "$ex")/../overlays/|" "$ex" >it.yml
printf 'initrd: {generator: initramfs-tools}\n' >>it.yml
grep -q 'cron, initramfs-tools\]' it.yml && grep -q 'provides: \[\]' it.yml || fail "it.yml: $(grep -n 'provides\|cron' it.yml)"
mkbm --cache "$cache" -v it.yml -o out/i.img -D grub_timeout=0 || { cat "$WORK/stderr"; fail "build"; }
# mkinitramfs ran once, after the last package (the kernel hook was told to skip, and the
# trigger found nothing to update), as mkinitramfs's own messages say.
expect_eq "$(grep -c 'update-initramfs: Generating /boot/initrd.img-' "$WORK/stderr")" 1 \
	"initramfs-tools' runs during configure"
grep -q 'update-initramfs -c -k' "$WORK/stderr" || fail "no update-initramfs after the packages"
part_extract out/i.img 2 boot.fs
part_extract out/i.img 3 root.fs
v=$(dbg boot.fs "ls -p /" | awk -F/ '$6 ~ /^vmlinuz-/ { sub("vmlinuz-", "", $6); print $6 }')
dbg boot.fs "dump /initrd.img-$v initrd.img"
bsdtar -tf initrd.img >list.txt || fail "bsdtar -t on the initrd"
grep -qx scripts/local list.txt && grep -qx conf/initramfs.conf list.txt ||
	fail "not initramfs-tools' initrd: $(head list.txt)"
grep -qx etc/initrd.conf list.txt && fail "our initrd.conf in initramfs-tools' initrd"
expect_match "$(cat_file boot.fs /grub/grub.cfg)" "initrd	/initrd.img-$v" "the menu's initrd"
post=$(cat_file root.fs /etc/kernel/postinst.d/zz-mkbootmedia)
expect_match "$post" '^# initramfs-tools made it' "the hook leaves the initrd to initramfs-tools"
grep -q 'mkbootmedia-initrd "\$version"' <<<"$post" && fail "the hook makes an initrd too"
[ -z "$(dbg root.fs 'stat /etc/mkbootmedia/initrd.conf' | grep Inode)" ] || fail "a description for initramfs-tools"
expect_eq "$(stat_field root.fs /etc/mkbootmedia/grub.cfg.in)" "0644 0 0 regular" "the menu's template"
# A kernel update on the running key, offline: initramfs-tools' hook (before ours, by name)
# makes the new kernel's initrd; ours, run in a chroot of the system, puts that kernel first
# in the menu with its initrd, and its removal gives back the build's menu.
mkdir root
debugfs -R "rdump / root" root.fs 2>/dev/null
debugfs -R "rdump / root/boot" boot.fs 2>/dev/null
cp root/boot/grub/grub.cfg build.cfg
n=6.99.0-1-amd64
cp root/boot/vmlinuz-"$v" root/boot/vmlinuz-"$n"
cp root/boot/initrd.img-"$v" root/boot/initrd.img-"$n" # what update-initramfs would make
unshare -r chroot root /etc/kernel/postinst.d/zz-mkbootmedia "$n" 2>hook.err ||
	{ cat hook.err; fail "postinst.d/zz-mkbootmedia $n"; }
cfg=$(cat root/boot/grub/grub.cfg)
expect_match "$(grep -m1 '^menuentry' <<<"$cfg")" "^menuentry '[^']*Linux $n' \{$" "the new kernel first"
expect_match "$(grep -m1 -A3 "^menuentry '[^']*Linux $n' " <<<"$cfg")" "initrd	/initrd.img-$n" \
	"its initrd, initramfs-tools'"
expect_match "$cfg" "^submenu '[^']*Linux $v' \{" "the build's kernel in a submenu"
grub-script-check root/boot/grub/grub.cfg || fail "grub-script-check on the two-kernel menu"
rm root/boot/vmlinuz-"$n" root/boot/initrd.img-"$n"
unshare -r chroot root /etc/kernel/postrm.d/zz-mkbootmedia "$n" 2>hook.err ||
	{ cat hook.err; fail "postrm.d/zz-mkbootmedia $n"; }
cmp build.cfg root/boot/grub/grub.cfg || fail "the menu after the removal differs from the build's"
rm -rf root
"$MKBOOTMEDIA" boot --test it.yml out/i.img --log console.log --timeout 600 >boot.out 2>&1 ||
	{ cat boot.out; tail -c 3000 console.log; fail "boot and the example's test: section"; }
