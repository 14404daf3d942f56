# dm-verity over the read-only root of the appliance (examples/cf-readonly.yml: /boot on its
# own partition, the hash tree on the partition "verity"). Checked on the host with
# veritysetup, then booted on copies:
# - the built image: veritysetup verify accepts the root partition, the hash partition and
#   the root hash from grub.cfg (on every Linux entry); the guest's /overlay/lower is
#   /dev/mapper/vroot and reads fine;
# - one byte changed in /etc/hostname's data block (found with debugfs blocks): veritysetup
#   verify now refuses it; in the guest reading that file fails with an I/O error while
#   other files read fine and the system boots;
# - a wrong root hash on the command line (grub.cfg edited with debugfs): the root is not
#   mounted, /init says why and gives a shell.
cache=$(test_cache)
mkbm --cache "$cache" "$CASE/../../../examples/cf-readonly.yml" -o out/v.img || { cat "$WORK/stderr"; fail "build"; }
img=out/v.img
part_extract $img 1 boot.fs
part_extract $img 2 root.fs
part_extract $img 3 hash.bin
fsck_clean boot.fs
fsck_clean root.fs
grub=$(cat_file boot.fs /grub/grub.cfg)
hash=$(grep -o 'roothash=[0-9a-f]*' <<<"$grub" | sort -u)
[ "$(wc -l <<<"$hash")" = 1 ] || fail "not one root hash in grub.cfg: $hash"
hash=${hash#roothash=}
[ ${#hash} = 64 ] || fail "root hash '$hash'"
[ "$(grep -c "^	linux.* roothash=$hash" <<<"$grub")" = "$(grep -c '^	linux' <<<"$grub")" ] ||
	fail "an entry without the root hash: $grub"
veritysetup verify root.fs hash.bin "$hash" || fail "veritysetup verify refuses the image"
bad=$(printf '%s' "$hash" | tr 0-9a-f 1-9a-f0)
veritysetup verify root.fs hash.bin "$bad" 2>/dev/null && fail "veritysetup verify takes a wrong hash"

boot() { # NAME IMAGE ARGS...
	name=$1 image=$2
	shift 2
	"$MKBOOTMEDIA" boot "$image" --bus ide --timeout 200 --log "$name.log" "$@" >"$name.out" 2>&1 ||
		{ cat "$name.out"; tail -c 3000 "$name.log"; fail "boot $name"; }
}
boot good $img --expect 'checked by dm-verity' --expect 'cf-appliance is up' --send '\n' \
	--run 'grep " /overlay/lower " /proc/mounts' --output '^/dev/mapper/vroot /overlay/lower ext2 ro' \
	--run 'cat /etc/hostname' --output '^cf-appliance' --poweroff

# One byte of /etc/hostname's first data block, in a copy.
bs=$(sb_field root.fs 'Block size')
blk=$(dbg root.fs 'blocks /etc/hostname' | awk '{ print $1 }')
[ -n "$blk" ] && [ "$blk" -gt 0 ] || fail "no block for /etc/hostname"
start=$(part_field $img 2 start)
cp --sparse=always $img out/bad.img
printf 'X' | dd of=out/bad.img bs=1 seek=$((start * 512 + blk * bs)) conv=notrunc status=none
part_extract out/bad.img 2 bad.fs
expect_eq "$(cat_file bad.fs /etc/hostname)" "Xf-appliance" "the changed byte"
veritysetup verify bad.fs hash.bin "$hash" 2>/dev/null && fail "veritysetup verify takes the changed block"
boot corrupt out/bad.img --expect 'cf-appliance is up' --send '\n' \
	--run 'cat /etc/hostname 2>&1 | head -n 1' --output 'Input/output error' \
	--run 'cat /etc/profile' --output 'PS1' --run 'dmesg | grep -c "verity.*corrupted"' \
	--output '^[1-9]' --poweroff

# A wrong root hash in grub.cfg, in a copy.
sed "s/roothash=$hash/roothash=$bad/" <<<"$grub" >grub.cfg
cp boot.fs wrong.fs
debugfs -w -R 'rm /grub/grub.cfg' wrong.fs >/dev/null 2>&1
debugfs -w -R 'write grub.cfg /grub/grub.cfg' wrong.fs >/dev/null 2>&1
expect_match "$(cat_file wrong.fs /grub/grub.cfg)" "roothash=$bad" "grub.cfg edited"
cp --sparse=always $img out/wrong.img
dd if=wrong.fs of=out/wrong.img bs=512 seek="$(part_field $img 1 start)" conv=notrunc,sparse status=none
boot wrong out/wrong.img --expect "dm-verity: the root hash $bad does not match" \
	--expect 'the root is not mounted' --expect 'starting a shell' --send '\n' \
	--run 'grep -c " /root " /proc/mounts || true' --output '^0' --poweroff
