# mkbootmedia flash onto loop devices (root; skipped otherwise): a loop device is not
# removable, so --force is needed and sufficient; the device then holds the image's mapped
# ranges (cmp over each range, bmaptool's own map for the rest, sfdisk and e2fsck on the
# result), for a raw, a compressed and a bmap-less image. A byte changed on the device
# after writing is caught by --verify-only. --grow fills a larger device. Refused with one message each and nothing
# written: a missing device, a file, a partition, a mounted device, a device too small, a
# damaged .bmap, a truncated stream, no --yes off a terminal.
if [ "$(id -u)" -ne 0 ] || ! losetup -f >/dev/null 2>&1; then
	echo "skipped: needs root and loop devices"
	exit 0
fi
loops=()
mnt=
small_tmpfs=
cleanup() {
	[ -z "$mnt" ] || umount "$mnt" 2>/dev/null || true
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
	[ -z "$small_tmpfs" ] || umount "$small_tmpfs" 2>/dev/null || true
}
trap cleanup EXIT
# newloop FILE SIZE [losetup options]: attaches a zero-filled FILE of SIZE as $loop.
newloop() {
	rm -f "$1"
	truncate -s "$2" "$1"
	attach "$@"
}
attach() {
	loop=$(losetup -f --show "${@:3}" "$1") || fail "losetup $1"
	loops+=("$loop")
}
cat >recipe.yml <<'YAML'
image: {size: 24MiB, table: msdos, seed: flash}
partitions:
  - {name: boot, size: 8MiB, bootable: true, filesystem: {type: ext2, label: B, mount: /boot}}
  - {name: root, size: rest, filesystem: {type: ext4, label: R, mount: /}}
files:
  - {path: /etc/hostname, content: "x\n"}
YAML
mkbm recipe.yml -o out/u.img || { cat "$WORK/stderr"; fail "build"; }
mkbm recipe.yml -o out/c.img.zst || { cat "$WORK/stderr"; fail "build .zst"; }
ranges() { sed -n 's/.*<Range[^>]*> *\([0-9-]*\) *<.*/\1/p' "$1"; }
# same_ranges DEV: each mapped range of u.img is on DEV, byte for byte.
same_ranges() {
	while IFS=- read -r a b; do
		b=${b:-$a}
		cmp -n $(((b - a + 1) * 4096)) -i $((a * 4096)):$((a * 4096)) out/u.img "$1" ||
			fail "$1: blocks $a-$b differ"
	done < <(ranges out/u.img.bmap)
}
# flash_fail TEXT DEV ARGS...: flash ARGS is refused with TEXT, one error line, and DEV
# unchanged.
flash_fail() {
	text=$1 dev=$2
	shift 2
	before=$(sha256sum <"$dev" 2>/dev/null || true)
	if "$MKBOOTMEDIA" flash "$@" 2>"$WORK/stderr"; then
		fail "flash $* succeeded"
	fi
	grep -Fq -- "$text" "$WORK/stderr" || { cat "$WORK/stderr"; fail "flash $*: no '$text'"; }
	expect_eq "$(grep -c '^error' "$WORK/stderr")" 1 "flash $*: error lines"
	expect_eq "$(sha256sum <"$dev" 2>/dev/null || true)" "$before" "flash $*: device changed"
}

newloop d1 32M
dev=$loop
# Garbage where the image has holes: flash writes only the mapped ranges, so it stays.
{ yes garbage || true; } | head -c 32M | dd of="$dev" bs=1M conv=fsync status=none
flash_fail "is neither removable nor on USB" "$dev" out/u.img "$dev" --yes
flash_fail "give --yes" "$dev" out/u.img "$dev" --force </dev/null
"$MKBOOTMEDIA" flash out/u.img "$dev" --force --yes 2>"$WORK/stderr" || { cat "$WORK/stderr"; fail "flash raw"; }
grep -q "every range's SHA-256 checked" "$WORK/stderr" || fail "no verification said"
same_ranges "$dev"
# Unmapped blocks were not written (garbage kept): flash wrote only the ranges.
unmapped=$(( $(ranges out/u.img.bmap | tail -n 1 | cut -d- -f1) - 1 ))
expect_eq "$(dd if="$dev" bs=4096 skip=$unmapped count=1 status=none | head -c 7)" garbage \
	"an unmapped block"
sfdisk -d "$dev" >table.txt || fail "sfdisk -d"
grep -q "${dev}p2 : start=" table.txt || grep -q "start=" table.txt || fail "no partition table"
# A changed byte is caught by --verify-only; the same device, restored, passes.
first=$(ranges out/u.img.bmap | sed -n 2p | cut -d- -f1)
printf 'Q' | dd of="$dev" bs=1 seek=$((first * 4096 + 7)) conv=notrunc,fsync status=none
flash_fail "verification failed: '$dev' differs from the image in blocks $first-" "$dev" \
	--verify-only out/u.img "$dev"
"$MKBOOTMEDIA" flash out/u.img "$dev" --force --yes -q || fail "flash again"
"$MKBOOTMEDIA" flash --verify-only out/u.img "$dev" -q || fail "--verify-only after a good write"

# The compressed image, with the bmap found as bmaptool finds it (c.img.bmap).
newloop d2 32M
dev=$loop
"$MKBOOTMEDIA" flash out/c.img.zst "$dev" --force --yes 2>"$WORK/stderr" || { cat "$WORK/stderr"; fail "flash .zst"; }
grep -q "using the bmap 'out/c.img.bmap'" "$WORK/stderr" || fail "bmap of the .zst not found"
cmp -n $((24 << 20)) out/u.img "$dev" || fail ".zst: device differs from the image"
# bmaptool's own bmap (its header comment names <BlocksCount> in prose) is read too.
bmaptool create -o bt.bmap out/u.img 2>/dev/null || fail "bmaptool create"
newloop d4 32M
dev=$loop
"$MKBOOTMEDIA" flash out/u.img "$dev" --bmap bt.bmap --force --yes -q 2>"$WORK/stderr" ||
	{ cat "$WORK/stderr"; fail "flash with bmaptool's bmap"; }
cmp -n $((24 << 20)) out/u.img "$dev" || fail "bmaptool's bmap: device differs from the image"
# A compressed image without a bmap is written whole.
mkdir nob && cp out/c.img.zst nob/
newloop d3 32M
dev=$loop
"$MKBOOTMEDIA" flash nob/c.img.zst "$dev" --force --yes -q || fail "flash .zst without bmap"
cmp -n $((24 << 20)) out/u.img "$dev" || fail "no bmap: device differs"
part_extract "$dev" 2 root.fs
fsck_clean root.fs

# --grow onto a larger device: the last partition reaches the end (sfdisk), the filesystem
# fills it (dumpe2fs) and checks clean (e2fsck -fn); a GPT's backup header moves to the end
# and its identifiers stay (sfdisk --verify, sfdisk -d). Without --grow, nothing grows.
sed 's/table: msdos/table: gpt/' recipe.yml >gpt.yml
mkbm gpt.yml -o out/g.img || { cat "$WORK/stderr"; fail "build gpt"; }
for img in u g; do
	newloop "grow-$img" 100M
	big=$loop
	"$MKBOOTMEDIA" flash out/$img.img "$big" --force --yes -q || fail "$img: flash without --grow"
	expect_eq "$(part_field "$big" 2 size 2>/dev/null)" "$(part_field out/$img.img 2 size)" \
		"$img: without --grow"
	"$MKBOOTMEDIA" flash out/$img.img "$big" --force --yes --grow 2>"$WORK/stderr" ||
		{ cat "$WORK/stderr"; fail "$img: flash --grow"; }
	grep -q "grown partition 2 from 1[45] MiB to" "$WORK/stderr" || { cat "$WORK/stderr"; fail "$img: said"; }
	start=$(part_field "$big" 2 start)
	size=$(part_field "$big" 2 size)
	# The last whole MiB the table allows: msdos up to the end, GPT before its backup.
	if [ $img = u ]; then expect_eq $((start + size)) 204800 "msdos: partition 2's end"; fi
	if [ $img = g ]; then
		expect_eq $((start + size)) 202752 "gpt: partition 2's end"
		sfdisk --verify "$big" >verify.txt 2>&1 || { cat verify.txt; fail "gpt: sfdisk --verify"; }
		grep -q "No errors detected" verify.txt || { cat verify.txt; fail "gpt: sfdisk --verify"; }
		expect_eq "$(sfdisk -d "$big" | grep -o 'uuid=[^,]*' | tr '\n' ' ')" \
			"$(sfdisk -d out/g.img | grep -o 'uuid=[^,]*' | tr '\n' ' ')" "gpt: identifiers kept"
	fi
	part_extract "$big" 2 grown.fs
	fsck_clean grown.fs
	expect_eq $(($(sb_field grown.fs 'Block count') * $(sb_field grown.fs 'Block size'))) \
		$((size * 512)) "$img: the filesystem fills the partition"
	part_extract "$big" 1 boot.fs
	fsck_clean boot.fs
done

# --grow with an encrypted last partition: the partition grows, its LUKS2 data segment is
# dynamic (cryptsetup luksDump on the grown partition: "whole device"), and with the
# passphrase the ext4 inside grows too (resize2fs on its plaintext served by FUSE, no
# device-mapper): decrypted by cryptsetup itself (decrypt_volume), e2fsck finds it clean,
# filling the data segment, with the file still there. Without the passphrase (not on a
# terminal) or with a wrong one, flash fails saying the filesystem did not grow, and it did
# not.
printf 'flash-test-pass' >pass
printf 'wrong-pass' >wrong
chmod 600 pass wrong
cat >enc.yml <<'YAML'
image: {size: 48MiB, table: gpt, seed: enc}
partitions:
  - {name: boot, size: 8MiB, filesystem: {type: ext2, mount: /boot}}
  - {name: root, size: rest, filesystem: {type: ext4, mount: /},
     encrypt: {passphrase-file: pass, pbkdf-memory: 32MiB, pbkdf-time: 100}}
files:
  - {path: /etc/hostname, content: "inside\n"}
YAML
mkbm enc.yml -o out/e.img || { cat "$WORK/stderr"; fail "build encrypted"; }
# enc_fs DEVICE NAME: the plaintext of DEVICE's partition 2 in NAME.fs, its block count
enc_fs() {
	part_extract "$1" 2 "$2.part"
	decrypt_volume luks2 pass "$2.part" "$2.fs"
	sb_field "$2.fs" 'Block count'
}
built_blocks=$(enc_fs out/e.img built)
for how in none wrong; do
	newloop "grow-e-$how" 100M
	if [ $how = none ]; then
		set -- --force --yes --grow
	else
		set -- --force --yes --grow --passphrase-file wrong
	fi
	if "$MKBOOTMEDIA" flash out/e.img "$loop" "$@" 2>"$WORK/stderr" </dev/null; then
		fail "encrypted --grow ($how passphrase) succeeded"
	fi
	case $how in
	none) want="partition 2 is encrypted: its filesystem was not grown (the partition was); give its passphrase with --passphrase-file FILE" ;;
	wrong) want="cannot unlock partition 2 of '$loop': the --passphrase-file opens none of its key slots; its filesystem was not grown" ;;
	esac
	grep -qF "$want" "$WORK/stderr" || { cat "$WORK/stderr"; fail "encrypted --grow ($how): message"; }
	expect_eq "$(grep -c '^error' "$WORK/stderr")" 1 "encrypted --grow ($how): error lines"
	expect_eq "$(enc_fs "$loop" "$how")" "$built_blocks" "encrypted --grow ($how): the filesystem's size"
done
flash_fail "--passphrase-file unlocks an encrypted partition for --grow" - out/e.img "$loop" \
	--force --yes --passphrase-file pass
newloop grow-e 100M
big=$loop
"$MKBOOTMEDIA" flash out/e.img "$big" --force --yes --grow --passphrase-file pass 2>"$WORK/stderr" ||
	{ cat "$WORK/stderr"; fail "flash --grow (encrypted)"; }
grep -q "grown the filesystem inside the luks2 volume of partition 2 to" "$WORK/stderr" ||
	{ cat "$WORK/stderr"; fail "encrypted: what was grown"; }
start=$(part_field "$big" 2 start)
size=$(part_field "$big" 2 size)
expect_eq $((start + size)) 202752 "encrypted: partition 2's end"
attach "$big" - -o $((start * 512)) --sizelimit $((size * 512))
cryptsetup luksDump "$loop" >dump.txt || fail "luksDump of the grown partition"
grep -q "length: (whole device)" dump.txt || { cat dump.txt; fail "the data segment is not dynamic"; }
blocks=$(enc_fs "$big" grown)
fsck_clean grown.fs
expect_eq $((blocks * $(sb_field grown.fs 'Block size'))) $((size * 512 - (16 << 20))) \
	"encrypted: the filesystem fills the data segment"
[ "$blocks" -gt "$built_blocks" ] || fail "encrypted: the filesystem did not grow"
expect_eq "$(dbg grown.fs 'cat /etc/hostname')" inside "encrypted: a file inside after growing"

# An I/O error: a device whose backing store (an 8 MiB tmpfs) fills up while 38 MiB are
# written fails with one message and status 1.
small_tmpfs=$WORK/small
mkdir -p "$small_tmpfs"
if mount -t tmpfs -o size=8M tmpfs "$small_tmpfs" 2>/dev/null; then
	truncate -s 64M "$small_tmpfs/dev"
	attach "$small_tmpfs/dev" -
	if "$MKBOOTMEDIA" flash out/e.img "$loop" --force --yes 2>"$WORK/stderr"; then
		fail "flash onto a failing device succeeded"
	fi
	grep -Eq "^error: flash: cannot (write|flush) '$loop'.*(Input/output error|No space)" \
		"$WORK/stderr" || { cat "$WORK/stderr"; fail "the I/O error's message"; }
	expect_eq "$(grep -c '^error' "$WORK/stderr")" 1 "I/O error: error lines"
	losetup -d "$loop"
	umount "$small_tmpfs"
	small_tmpfs=
fi

# Refusals.
flash_fail "cannot open device '/dev/nonexistent-disk'" /dev/nonexistent-disk out/u.img /dev/nonexistent-disk --force --yes
touch notadev
flash_fail "'notadev' is not a block device" notadev out/u.img notadev --force --yes
newloop d4 16M
small=$loop
flash_fail "is smaller than the image" "$small" out/u.img "$small" --force --yes
newloop d5 32M
pdev=$loop
"$MKBOOTMEDIA" flash out/u.img "$pdev" --force --yes -q || fail "flash for the partition test"
# Attached again with partitions scanned (-P; partx where the scan does not happen):
# ${pdev}p1 and p2 appear.
losetup -d "$pdev"
attach d5 - -P
pdev=$loop
[ -b "${pdev}p2" ] || partx -a "$pdev" 2>/dev/null || true
udevadm settle 2>/dev/null || true
[ -b "${pdev}p2" ] || fail "no ${pdev}p2"
flash_fail "is a partition of $(basename "$pdev")" "${pdev}p2" out/u.img "${pdev}p2" --force --yes
mnt=$WORK/mnt
mkdir -p "$mnt"
mount -o ro "${pdev}p2" "$mnt" || fail "mount ${pdev}p2"
flash_fail "is in use: $(basename "$pdev")p2 is mounted at '$mnt'" "$pdev" out/u.img "$pdev" --force --yes
umount "$mnt"
mnt=
# On a terminal it asks; anything but "yes" writes nothing.
newloop d6 32M
ask=$loop
before=$(sha256sum <"$ask")
printf 'no\n' | script -qec "'$MKBOOTMEDIA' flash out/u.img '$ask' --force" /dev/null >tty.txt || true
grep -q "Type 'yes' to write" tty.txt || { cat tty.txt; fail "no question on a terminal"; }
grep -q "not confirmed: nothing was written" tty.txt || { cat tty.txt; fail "'no' not refused"; }
expect_eq "$(sha256sum <"$ask")" "$before" "written after 'no'"
printf 'yes\n' | script -qec "'$MKBOOTMEDIA' flash out/u.img '$ask' --force" /dev/null >tty.txt ||
	{ cat tty.txt; fail "'yes' on a terminal"; }
same_ranges "$ask"
# Held open exclusively by another program (O_EXCL): refused.
python3 -c 'import os, sys, time; os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL); print("held", flush=True); time.sleep(30)' "$ask" >held.txt &
holder=$!
for _ in $(seq 50); do grep -q held held.txt && break; sleep 0.1; done
flash_fail "is in use (mounted, or held by another program)" "$ask" out/u.img "$ask" --force --yes
kill $holder
wait $holder 2>/dev/null || true
# A user without the permission is told which one.
if command -v setpriv >/dev/null; then
	chmod o+r out out/u.img out/u.img.bmap 2>/dev/null || true
	setpriv --reuid=65534 --regid=65534 --clear-groups "$MKBOOTMEDIA" flash out/u.img "$ask" \
		--force --yes 2>err.txt && fail "flash as nobody succeeded"
	grep -q "permission denied opening '$ask' (mode 0[0-7]*, group '[a-z]*'): " err.txt ||
		{ cat err.txt; fail "permission message"; }
fi
sed 's/<MappedBlocksCount> \([0-9]*\)/<MappedBlocksCount> 9\1/' out/u.img.bmap >bad.bmap
flash_fail "the bmap is damaged" "$small" out/u.img "$small" --bmap bad.bmap --force --yes
head -c $(($(stat -c %s out/c.img.zst) / 2)) out/c.img.zst >nob/t.img.zst
flash_fail "the file is truncated" "$small" nob/t.img.zst "$small" --force --yes
# A truncated stream with its bmap: found before writing, the device stays as it was.
flash_fail "the file is truncated" "$dev" nob/t.img.zst "$dev" --bmap out/c.img.bmap --force --yes
