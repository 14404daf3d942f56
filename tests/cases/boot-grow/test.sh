# partitions[].grow: the image (160 MiB, msdos) copied to a 512 MiB medium boots, and its initramfs
# grows the root partition to the end of the disk and its ext2 with it (sfdisk, e2fsck,
# resize2fs of the image, in the initrd); the same with GPT under UEFI, whose backup header
# must move to the new end. Checked on the host after poweroff: sfdisk sees
# the partition end at the disk's last MiB, e2fsck -fn is clean, dumpe2fs's block count
# fills the partition, the files are still there. A second boot grows nothing. The
# negative: the same recipe with grow: false leaves the partition as built. Bad forms are
# refused at their file:line:col.
cache=$(test_cache)
mkdir img
mkbm --cache "$cache" "$CASE/recipe.yml" -o img/g.img --no-bmap -D grub_timeout=0 ||
	{ cat "$WORK/stderr"; fail "build"; }
mkbm --cache "$cache" check "$CASE/recipe.yml" >plan || fail "check"
grep -q "MINI_ROOT .*(grows on first boot)" plan || fail "the plan: $(grep MINI_ROOT plan)"
part_extract img/g.img 1 boot.fs
ver=$(dbg boot.fs "ls -p /" | awk -F/ '$6 ~ /^vmlinuz-/ { sub("vmlinuz-", "", $6); print $6 }')
dbg boot.fs "dump /initrd.img-$ver initrd.img"
zstd -dc initrd.img | cpio -it 2>/dev/null >initrd.list
for f in usr/sbin/sfdisk usr/sbin/e2fsck usr/sbin/resize2fs; do
	grep -qx "$f" initrd.list || fail "$f is not in the initrd"
done
zstd -dc initrd.img | cpio -i --to-stdout etc/initrd.conf 2>/dev/null | grep -qx "GROW_PART='LABEL=MINI_ROOT'" ||
	fail "initrd.conf: $(zstd -dc initrd.img | cpio -i --to-stdout etc/initrd.conf 2>/dev/null | grep GROW)"
old=$(part_field img/g.img 2 size)

cp --sparse=always img/g.img big.img
truncate -s 512M big.img
boot() {
	"$MKBOOTMEDIA" boot "$1" --write --timeout 240 --log "$2.log" \
		--expect 'minimal-busybox is up' --send '\n' \
		--run 'cat /etc/marker' --output '^kept' \
		--poweroff >"$2.out" 2>&1 || { cat "$2.out"; tail -c 3000 "$2.log"; fail "boot $2"; }
}
boot big.img first
grep -q "grow: /dev/sda2 is now" first.log || fail "no growth said: $(grep grow: first.log)"
start=$(part_field big.img 2 start)
size=$(part_field big.img 2 size)
[ $((start + size)) -gt $((512 * 2048 - 4096)) ] || fail "partition 2 ends at sector $((start + size)) of $((512 * 2048))"
[ "$size" -gt "$old" ] || fail "partition 2 did not grow ($size sectors, was $old)"
part_extract big.img 2 root.fs
fsck_clean root.fs
blocks=$(dumpe2fs -h root.fs 2>/dev/null | awk -F: '/^Block count/ { print $2 + 0 }')
bsize=$(dumpe2fs -h root.fs 2>/dev/null | awk -F: '/^Block size/ { print $2 + 0 }')
[ $((blocks * bsize / 512)) -gt $((size - 2048)) ] || fail "the filesystem ($blocks blocks of $bsize) does not fill the partition ($size sectors)"
expect_eq "$(cat_file root.fs /etc/marker)" "kept" "a file of the grown root"
boot big.img second
grep -q "grow: " second.log && fail "the second boot grew again: $(grep grow: second.log)"

# GPT under UEFI: the backup header moves to the new end first (sfdisk --verify is clean).
mkbm --cache "$cache" "$CASE/recipe-gpt.yml" -o img/gpt.img --no-bmap -D grub_timeout=0 ||
	{ cat "$WORK/stderr"; fail "build the GPT image"; }
cp --sparse=always img/gpt.img gbig.img
truncate -s 512M gbig.img
"$MKBOOTMEDIA" boot gbig.img --write --firmware uefi --timeout 240 --log gpt.log \
	--expect 'minimal-busybox is up' --send '\n' --run 'cat /sys/class/block/sda3/size' --poweroff >gpt.out 2>&1 ||
	{ cat gpt.out; tail -c 3000 gpt.log; fail "boot the GPT image"; }
grep -q "grow: /dev/sda3 is now" gpt.log || fail "GPT: no growth said: $(grep grow: gpt.log)"
sfdisk --verify gbig.img >verify.out 2>&1 || fail "sfdisk --verify: $(cat verify.out)"
grep -qi "backup\|not on the end" verify.out && fail "sfdisk --verify: $(cat verify.out)"
start=$(part_field gbig.img 3 start)
size=$(part_field gbig.img 3 size)
[ $((start + size)) -gt $((512 * 2048 - 4096)) ] || fail "GPT partition 3 ends at sector $((start + size))"
part_extract gbig.img 3 groot.fs
fsck_clean groot.fs

# grow: false on the same medium: nothing grows.
mkbm --cache "$cache" "$CASE/recipe.yml" -o img/n.img --no-bmap -D grub_timeout=0 -D grow=false ||
	{ cat "$WORK/stderr"; fail "build grow: false"; }
cp --sparse=always img/n.img nbig.img
truncate -s 512M nbig.img
boot nbig.img nogrow
expect_eq "$(part_field nbig.img 2 size)" "$old" "partition 2 without grow"

# Bad forms.
cp "$CASE/recipe.yml" r.yml
sed -i "s|\.\./\.\./\.\./|$CASE/../../../|" r.yml
expect_sed_fail "bad.yml:14:11: partitions[1].grow: only the last partition can grow to the end of the medium: 'extra' comes after 'rootfs'" \
	's|^files+:|  - {name: extra, size: 1MiB}\nfiles+:|; s/size: rest/size: 64MiB/'
expect_sed_fail "bad.yml:14:11: partitions[1].grow: the initramfs grows the partition with the image's sfdisk: add fdisk to packages.include" \
	's/include+: \[fdisk, e2fsprogs\]/include+: [e2fsprogs]/'
expect_sed_fail "bad.yml:16:36: partitions[2].grow: partition 'data' grows with its filesystem, which must be ext2, ext3 or ext4" \
	's/size: rest/size: 64MiB/; s/grow: ${grow}/grow: false/; s|^files+:|  - {name: data, size: 8MiB, grow: true, filesystem: {type: vfat, label: DATA}}\nfiles+:|'
expect_sed_fail "bad.yml:14:11: partitions[1].grow: 'maybe' is not" 's|grow: ${grow}|grow: maybe|'
