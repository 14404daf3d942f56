# The tmpfs overlay (tmpfs.yml, from examples/cf-readonly.yml): booted twice from one
# writable copy, on IDE then USB. Each boot checks that / is the overlay over the read-only
# root, that /etc/marker is absent, and writes it (it lands in the tmpfs's upper layer);
# the second boot passing shows the first one's marker was lost. Nothing reaches the disk:
# the whole image's sha256 is unchanged. The image has no reset entry or command.
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
for bus in ide usb; do
	"$MKBOOTMEDIA" boot --test "$CASE/tmpfs.yml" --bus $bus --write out/w.img \
		--log $bus.log >$bus.out 2>&1 || { cat $bus.out; tail -c 3000 $bus.log; fail "boot ($bus)"; }
	expect_eq "$(sha256sum <out/w.img)" "$sum0" "the image after a boot on $bus"
done
