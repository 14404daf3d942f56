# The tmpfs overlay (tmpfs.yml, from examples/cf-readonly.yml): booted twice from one
# writable copy, on IDE then USB. Each boot checks that / is the overlay over the read-only
# root, that /etc/marker is absent, and writes it (it lands in the tmpfs's upper layer);
# the second boot passing shows the first one's marker was lost. Nothing reaches the disk:
# the whole image's sha256 is unchanged, and `boot --audit-writes` reports 0 bytes written
# to every partition (example-cf-readonly's audit, which finds its marker, is the negative). The image has no reset entry or command.
cache=$(test_cache)
mkbm --cache "$cache" "$CASE/tmpfs.yml" -o out/t.img || { cat "$WORK/stderr"; fail "build"; }
part_extract out/t.img 1 boot.fs
part_extract out/t.img 2 root.fs
fsck_clean root.fs
expect_match "$(cat_file root.fs /etc/fstab)" '^overlay +/ +overlay +defaults,noatime +0 0$' "fstab"
grub=$(cat_file boot.fs /grub/grub.cfg)
expect_match "$grub" 'roothash=' "grub.cfg read"
grep -q 'Factory reset' <<<"$grub" && fail "a reset entry"
[ -z "$(dbg root.fs 'stat /usr/sbin/mkbootmedia-reset')" ] || fail "a reset command"
sum0=$(sha256sum <out/t.img)
cp --sparse=always out/t.img out/w.img
"$MKBOOTMEDIA" boot --test "$CASE/tmpfs.yml" --bus ide --write out/w.img --log ide.log \
	>ide.out 2>&1 || { cat ide.out; tail -c 3000 ide.log; fail "boot (ide)"; }
expect_eq "$(sha256sum <out/w.img)" "$sum0" "the image after a boot on ide"
# The second boot under --audit-writes (a private copy, compared afterwards): it too must
# find no marker, and the audit must find no write at all.
"$MKBOOTMEDIA" boot --test "$CASE/tmpfs.yml" --bus usb --audit-writes out/w.img --log usb.log \
	>usb.out 2>&1 || { cat usb.out; tail -c 3000 usb.log; fail "boot (usb)"; }
expect_eq "$(sha256sum <out/w.img)" "$sum0" "the image after a boot on usb"
expect_match "$(cat usb.out)" '^audit: the guest wrote 0 B \(0 bytes' "audit: nothing written"
[ "$(grep -c '^  partition [1-4]: 0 bytes$' usb.out)" = 4 ] || fail "audit per partition: $(cat usb.out)"
