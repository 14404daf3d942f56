# The target's initramfs generator (initrd.generator: mkbootmedia, the default), checked on
# this machine over the extracted system of examples/minimal-busybox.yml (Debian's kernel,
# cached): the image holds /usr/sbin/mkbootmedia-initrd and the kernel hooks, executable;
# run with --root, the program makes the initrd and the menu byte for byte as the build
# did (cmp); a newer kernel gets an initrd whose modules are its own (bsdtar) and becomes
# the menu's default with the old one in a submenu; removing it gives back the build's
# menu. With kernel.version, that kernel stays the default beside the newer one until it is
# removed (without it, the newest is, above). Negative: a description one byte off gives
# another initrd; a broken one, a clear error and no file; generator none leaves neither
# program nor hooks.
ex=$CASE/../../../examples/minimal-busybox.yml
cache=$(test_cache)
mkbm --cache "$cache" "$ex" -o out/m.img || { cat "$WORK/stderr"; fail "build"; }
part_extract out/m.img 1 boot.fs
part_extract out/m.img 2 root.fs
fsck_clean root.fs
for f in /usr/sbin/mkbootmedia-initrd /etc/kernel/postinst.d/zz-mkbootmedia \
	/etc/kernel/postrm.d/zz-mkbootmedia; do
	expect_eq "$(stat_field root.fs "$f")" "0755 0 0 regular" "$f"
done
expect_eq "$(stat_field root.fs /etc/mkbootmedia/initrd.conf)" "0644 0 0 regular" "the description"
expect_match "$(cat_file root.fs /etc/kernel/postinst.d/zz-mkbootmedia)" \
	'^/usr/sbin/mkbootmedia-initrd "\$version"$' "postinst hook makes the initrd"
expect_match "$(cat_file root.fs /etc/kernel/postrm.d/zz-mkbootmedia)" \
	'^/usr/sbin/mkbootmedia-initrd --remove "\$version"$' "postrm hook removes it"

# The system as the running key sees it: / with /boot mounted.
mkdir root
debugfs -R "rdump / root" root.fs 2>/dev/null
mkdir -p root/boot
debugfs -R "rdump / root/boot" boot.fs 2>/dev/null
prog=root/usr/sbin/mkbootmedia-initrd
readelf -lW "$prog" >elf.txt || fail "readelf on $prog"
grep -q 'Requesting program interpreter' elf.txt && fail "$prog is not static"
v=$(cd root/boot && ls vmlinuz-* | sed 's/^vmlinuz-//')
[ -n "$v" ] || fail "no kernel"
cp root/boot/initrd.img-"$v" build.img
cp root/boot/grub/grub.cfg build.cfg

"$prog" --root root -o again.img "$v" 2>prog.err || { cat prog.err; fail "mkbootmedia-initrd $v"; }
cmp build.img again.img || fail "the target's initrd differs from the build's"
"$prog" --root root --update-menu 2>prog.err || { cat prog.err; fail "--update-menu"; }
cmp build.cfg root/boot/grub/grub.cfg || fail "the target's menu differs from the build's"

# A newer kernel (the same files under a later version), as dpkg installs one: its
# postinst runs the postinst.d hooks with the version (here in a chroot of the system).
n=6.99.0-1-amd64
cp root/boot/vmlinuz-"$v" root/boot/vmlinuz-"$n"
cp -a root/lib/modules/"$v" root/lib/modules/"$n"
unshare -r chroot root /etc/kernel/postinst.d/zz-mkbootmedia "$n" 2>hook.err ||
	{ cat hook.err; fail "postinst.d/zz-mkbootmedia $n"; }
bsdtar -tf root/boot/initrd.img-"$n" >list.txt
grep -qx "lib/modules/$n/modules.dep" list.txt || fail "no modules.dep of $n in its initrd"
grep -q "^lib/modules/$v/" list.txt && fail "the old kernel's modules in the new initrd"
grep -qx init list.txt && grep -qx bin/busybox list.txt || fail "no init or busybox: $(head list.txt)"
cfg=$(cat root/boot/grub/grub.cfg)
expect_match "$cfg" "^menuentry 'Linux $n' \{" "the newest kernel first"
expect_match "$(grep -m1 -A1 "^menuentry 'Linux $n' " root/boot/grub/grub.cfg)" \
	"linux	/vmlinuz-$n root=LABEL=MINI_ROOT" "its linux line"
expect_match "$cfg" "^submenu 'Linux $v' \{" "the old kernel in a submenu"
expect_eq "$(grep -c '^menuentry' <<<"$cfg")" 2 "top-level entries (default indexes)"
[ "$(grep -n "^submenu" <<<"$cfg" | cut -d: -f1)" -gt "$(grep -n "^menuentry" <<<"$cfg" | tail -1 | cut -d: -f1)" ] ||
	fail "the submenu is not after the top-level entries"
grub-script-check root/boot/grub/grub.cfg || fail "grub-script-check on the two-kernel menu"
# Removing it: dpkg deletes the kernel's files, then its postrm runs the postrm.d hooks;
# the build's menu comes back.
rm -r root/boot/vmlinuz-"$n" root/lib/modules/"$n"
unshare -r chroot root /etc/kernel/postrm.d/zz-mkbootmedia "$n" 2>hook.err ||
	{ cat hook.err; fail "postrm.d/zz-mkbootmedia $n"; }
[ ! -e root/boot/initrd.img-"$n" ] || fail "initrd of $n left"
cmp build.cfg root/boot/grub/grub.cfg || fail "the menu after the removal differs from the build's"

# kernel.version pins the default: the build's kernel stays first after a newer one is
# installed (the newer in a submenu), until it is removed; the description carries the pin
# (the initrd is the same bytes), and the build's menu is again the hook's.
sed "s|\.\./recipes/|$CASE/../../../recipes/|" "$ex" >pin.yml
printf 'kernel:\n  version: %s\n' "$v" >>pin.yml
mkbm --cache "$cache" pin.yml -o out/p.img || { cat "$WORK/stderr"; fail "build (kernel.version)"; }
part_extract out/p.img 1 pboot.fs
part_extract out/p.img 2 proot.fs
grep -qx "default-kernel $v" <(cat_file proot.fs /etc/mkbootmedia/initrd.conf) ||
	fail "no 'default-kernel $v' in the description: $(cat_file proot.fs /etc/mkbootmedia/initrd.conf)"
grep -q '^default-kernel' root/etc/mkbootmedia/initrd.conf && fail "default-kernel without kernel.version"
mkdir proot
debugfs -R "rdump / proot" proot.fs 2>/dev/null
mkdir -p proot/boot
debugfs -R "rdump / proot/boot" pboot.fs 2>/dev/null
cmp build.img proot/boot/initrd.img-"$v" || fail "the pin changed the initrd"
cp proot/boot/grub/grub.cfg pbuild.cfg
"$prog" --root proot --update-menu 2>prog.err || { cat prog.err; fail "--update-menu (pinned)"; }
cmp pbuild.cfg proot/boot/grub/grub.cfg || fail "the target's pinned menu differs from the build's"
cp proot/boot/vmlinuz-"$v" proot/boot/vmlinuz-"$n"
cp -a proot/lib/modules/"$v" proot/lib/modules/"$n"
unshare -r chroot proot /etc/kernel/postinst.d/zz-mkbootmedia "$n" 2>hook.err ||
	{ cat hook.err; fail "postinst.d/zz-mkbootmedia $n (pinned)"; }
[ -s proot/boot/initrd.img-"$n" ] || fail "no initrd for $n (pinned)"
cfg=$(cat proot/boot/grub/grub.cfg)
expect_eq "$(grep -m1 '^menuentry' <<<"$cfg")" "menuentry 'Linux $v' {" "the pinned kernel stays first"
expect_match "$(grep -m1 -A1 "^menuentry 'Linux $v' " <<<"$cfg")" "linux	/vmlinuz-$v root=" "its linux line"
expect_match "$cfg" "^submenu 'Linux $n' \{" "the newer kernel in a submenu"
expect_eq "$(grep -c '^submenu' <<<"$cfg")" 1 "submenus (pinned)"
grub-script-check proot/boot/grub/grub.cfg || fail "grub-script-check on the pinned two-kernel menu"
# The hooks carry the pin too, for generator initramfs-tools, which writes no description:
# without the description's line the hook's menu still starts with the pinned kernel, and
# the program without the hook's option puts the newest first.
for h in postinst postrm; do
	grep -q -- "--update-menu --default-kernel $v\$" proot/etc/kernel/$h.d/zz-mkbootmedia ||
		fail "the $h hook does not pass the pin"
	grep -q -- "--default-kernel" root/etc/kernel/$h.d/zz-mkbootmedia &&
		fail "the $h hook passes a pin without kernel.version"
done
sed -i '/^default-kernel /d' proot/etc/mkbootmedia/initrd.conf
unshare -r chroot proot /etc/kernel/postinst.d/zz-mkbootmedia "$n" 2>hook.err ||
	{ cat hook.err; fail "postinst.d/zz-mkbootmedia $n (pin in the hook only)"; }
expect_eq "$(grep -m1 '^menuentry' proot/boot/grub/grub.cfg)" "menuentry 'Linux $v' {" \
	"the hook's pin keeps the pinned kernel first"
"$prog" --root proot --update-menu 2>prog.err || { cat prog.err; fail "--update-menu (no pin)"; }
expect_eq "$(grep -m1 '^menuentry' proot/boot/grub/grub.cfg)" "menuentry 'Linux $n' {" \
	"without a pin the newest is first"
"$prog" --root proot --update-menu --default-kernel "$v" 2>prog.err ||
	{ cat prog.err; fail "--update-menu --default-kernel"; }
"$prog" --root proot --default-kernel "$v" "$n" 2>/dev/null && fail "--default-kernel without --update-menu accepted"
# The pinned kernel removed: the newest is the default.
rm -r proot/boot/vmlinuz-"$v" proot/lib/modules/"$v"
unshare -r chroot proot /etc/kernel/postrm.d/zz-mkbootmedia "$v" 2>hook.err ||
	{ cat hook.err; fail "postrm.d/zz-mkbootmedia $v (pinned)"; }
cfg=$(cat proot/boot/grub/grub.cfg)
expect_eq "$(grep -m1 '^menuentry' <<<"$cfg")" "menuentry 'Linux $n' {" "the pinned kernel gone, the newest first"
grep -q "^submenu" <<<"$cfg" && fail "a submenu left after the pinned kernel's removal"
rm -r proot

# Negative: one byte of the description (the mtime) changes the initrd; a broken line is
# refused with its place, and no output is left.
sed -i 's/^mtime 1700000000$/mtime 1700000001/' root/etc/mkbootmedia/initrd.conf
"$prog" --root root -o other.img "$v" 2>prog.err || { cat prog.err; fail "mtime changed"; }
cmp -s build.img other.img && fail "a different description gave the same initrd"
sed -i 's/^mtime .*/mtime soon/' root/etc/mkbootmedia/initrd.conf
"$prog" --root root -o bad.img "$v" 2>prog.err && fail "a broken description was accepted"
grep -q "/etc/mkbootmedia/initrd.conf:5: 'soon' is not a time" prog.err || fail "message: $(cat prog.err)"
[ ! -e bad.img ] || fail "output left after a failure"
"$prog" --root root nosuch 2>prog.err && fail "an unknown kernel was accepted"
"$prog" --root root --update-menu --remove 2>/dev/null && fail "bad usage accepted"

# generator none: the build's initrd only, no program, no hooks, no template.
sed 's/^  root-wait: \${root_wait}$/  root-wait: ${root_wait}\n  generator: none/' "$ex" >none.yml
sed -i "s|\.\./recipes/|$CASE/../../../recipes/|" none.yml
grep -q "generator: none" none.yml || fail "none.yml"
mkbm --cache "$cache" none.yml -o out/n.img || { cat "$WORK/stderr"; fail "build (generator none)"; }
part_extract out/n.img 2 nroot.fs
for f in /usr/sbin/mkbootmedia-initrd /etc/kernel/postinst.d/zz-mkbootmedia /etc/mkbootmedia; do
	[ -z "$(dbg nroot.fs "stat $f" | grep Inode)" ] || fail "generator none left $f"
done
part_extract out/n.img 1 nboot.fs
dbg nboot.fs "dump /initrd.img-$v n.img"
cmp build.img n.img || fail "generator none gave another initrd than mkbootmedia's"
