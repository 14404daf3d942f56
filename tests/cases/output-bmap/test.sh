# The block map beside a raw image and the compressed images (-o .zst, .xz, .gz), checked by
# tools we did not write: bmaptool copy (which verifies every range's SHA-256) gives a
# destination identical to the raw image (mapped ranges the same, zeros elsewhere), zstd -t,
# xz -t and gzip -t accept the streams, sha256sum -c the checksum files. Negatives: a
# changed byte in a mapped range, a damaged .bmap, a truncated stream are each refused by
# bmaptool; a failing build leaves nothing at any of its outputs.
cat >recipe.yml <<'YAML'
image: {size: 24MiB, table: msdos, seed: out}
partitions:
  - {name: boot, size: 8MiB, bootable: true, filesystem: {type: ext2, label: B, mount: /boot}}
  - {name: root, size: rest, filesystem: {type: ext4, label: R, mount: /}}
files:
  - {path: /etc/hostname, content: "x\n"}
  - {path: /boot/README, content: "boot\n"}
  - {path: /srv/data, content: "${data}"}
variables:
  data: "0123456789abcdef"
YAML
mkbm recipe.yml -o out/u.img --checksum || { cat "$WORK/stderr"; fail "raw build"; }
[ -f out/u.img.bmap ] || fail "no out/u.img.bmap"
(cd out && sha256sum -c u.img.sha256) || fail "sha256sum -c u.img.sha256"
expect_eq "$(awk '{print $2}' out/u.img.sha256 | tr '\n' ' ')" "u.img u.img.bmap " "files listed"
# Mostly holes: the map holds what the build wrote, not the whole image.
mapped=$(sed -n 's/.*<MappedBlocksCount> *\([0-9]*\) .*/\1/p' out/u.img.bmap)
total=$(sed -n 's/.*<BlocksCount> *\([0-9]*\) .*/\1/p' out/u.img.bmap)
expect_eq "$total" 6144 "BlocksCount"
[ "$mapped" -gt 0 ] && [ "$mapped" -lt $((total / 4)) ] || fail "mapped $mapped of $total blocks"
# Every block bmaptool's own scan (FIEMAP) finds with data that we left out reads as zeros.
bmaptool create -o fiemap.bmap out/u.img 2>/dev/null || fail "bmaptool create"
ranges() { sed -n 's/.*<Range[^>]*> *\([0-9-]*\) *<.*/\1/p' "$1"; }
python3 - out/u.img <(ranges out/u.img.bmap) <(ranges fiemap.bmap) <<'PY' || fail "unmapped data"
import sys
def blocks(f):
    s = set()
    for l in open(f):
        a, _, b = l.strip().partition("-")
        s.update(range(int(a), int(b or a) + 1))
    return s
img = open(sys.argv[1], "rb")
for blk in sorted(blocks(sys.argv[3]) - blocks(sys.argv[2])):
    img.seek(blk * 4096)
    if img.read(4096).strip(b"\0"):
        sys.exit("block %d holds data and is not mapped" % blk)
PY

bmaptool copy out/u.img dest.img 2>bmaptool.log || { cat bmaptool.log; fail "bmaptool copy (raw)"; }
grep -q "discovered bmap file" bmaptool.log || fail "bmaptool did not use the bmap"
cmp out/u.img dest.img || fail "bmaptool copy (raw) differs"

for s in zst xz gz; do
	mkbm recipe.yml -o out/c.img.$s --checksum || { cat "$WORK/stderr"; fail "$s build"; }
	case $s in
	zst) zstd -qt out/c.img.zst ;;
	xz) xz -t out/c.img.xz ;;
	gz) gzip -t out/c.img.gz ;;
	esac || fail "$s -t"
	cmp out/c.img.bmap out/u.img.bmap || fail "$s: the bmap is not the raw image's"
	(cd out && sha256sum -c c.img.$s.sha256) || fail "sha256sum -c ($s)"
	expect_eq "$(awk '{print $2}' out/c.img.$s.sha256 | tr '\n' ' ')" "c.img.$s c.img.bmap " \
		"$s: files listed"
	[ ! -e out/c.img ] || fail "$s: the raw image was left"
	rm -f dest.img
	bmaptool copy out/c.img.$s dest.img 2>bmaptool.log || { cat bmaptool.log; fail "bmaptool copy ($s)"; }
	grep -q "discovered bmap file 'out/c.img.bmap'" bmaptool.log || fail "$s: bmap not found by bmaptool"
	cmp out/u.img dest.img || fail "bmaptool copy ($s) differs"
	case $s in
	zst) zstd -dc out/c.img.zst ;;
	xz) xz -dc out/c.img.xz ;;
	gz) gzip -dc out/c.img.gz ;;
	esac | cmp - out/u.img || fail "$s: decompressed stream differs from the raw image"
	ls -A out | grep -q '^\.' && fail "$s: temporary files left: $(ls -A out)"
done

# The same image compresses to the same bytes whatever the number of threads (-j).
for s in zst xz; do
	mkdir -p j1 j2
	"$MKBOOTMEDIA" -q recipe.yml -o j1/c.img.$s -j 1 || fail "$s -j 1"
	"$MKBOOTMEDIA" -q recipe.yml -o j2/c.img.$s -j 3 || fail "$s -j 3"
	cmp j1/c.img.$s j2/c.img.$s || fail "$s: -j 1 and -j 3 differ"
done

# Negatives, each caught by bmaptool: a byte changed in a mapped range,
first=$(ranges out/u.img.bmap | head -n 1 | cut -d- -f1)
cp out/u.img bad.img
printf 'X' | dd of=bad.img bs=1 seek=$((first * 4096 + 100)) conv=notrunc status=none
rm -f dest.img
bmaptool copy --bmap out/u.img.bmap bad.img dest.img 2>/dev/null && fail "bmaptool missed a changed byte"
# a damaged bmap,
sed 's/<ImageSize> \([0-9]*\)/<ImageSize> 1\1/' out/u.img.bmap >bad.bmap
bmaptool copy --bmap bad.bmap out/u.img dest.img 2>/dev/null && fail "bmaptool took a damaged bmap"
# a truncated stream.
head -c $(($(stat -c %s out/c.img.zst) / 2)) out/c.img.zst >t.img.zst
zstd -qt t.img.zst 2>/dev/null && fail "zstd -t took a truncated stream"
bmaptool copy --bmap out/c.img.bmap t.img.zst dest.img 2>/dev/null && fail "bmaptool took a truncated stream"

# --no-bmap: none written.
mkdir nb
"$MKBOOTMEDIA" -q recipe.yml -o nb/n.img.zst --no-bmap --checksum || fail "--no-bmap build"
expect_eq "$(ls -A nb | tr '\n' ' ')" "n.img.zst n.img.zst.sha256 " "--no-bmap outputs"
# A build that fails leaves nothing at any of its outputs, nor a temporary file;
rm -rf out/*
head -c 30000000 /dev/urandom >big
sed 's|/srv/data, content: "${data}"|/srv/big, source: big|' recipe.yml >big.yml
expect_fail "no space for '/srv/big'" big.yml -o out/f.img.xz --checksum --sbom
expect_fail "no space for '/srv/big'" big.yml -o out/f.img --checksum
# a directory in the way of a file beside the image is refused before anything is built.
for side in g.img.bmap g.img.zst.sha256; do
	rm -rf o2 && mkdir -p o2/$side
	"$MKBOOTMEDIA" recipe.yml -o o2/g.img.zst --checksum 2>err && fail "$side: built"
	grep -q "^error: 'o2/$side' exists and is not a regular file" err || { cat err; fail "$side: message"; }
	expect_eq "$(grep -c '^error' err)" 1 "$side: one message"
	expect_eq "$(ls -A o2)" "$side" "$side: nothing written"
done
