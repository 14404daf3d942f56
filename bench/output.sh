#!/bin/bash
# Benchmark (not a test): the outputs of the default Debian image (examples/usb-debian.yml),
# with ratios against peers measured in the same run, so they hold on a noisy machine (each
# time is the best of $RUNS runs, default 3, the two sides alternating):
#   (1) compressing to .zst as a build ends (bench/output-bench: the data extents read, the
#       holes fed as zeros, the ranges hashed) against `zstd -T0` of the same raw file;
#       target: at most 1.1x zstd's time; and to .gz (blocks on every thread) against
#       `gzip -6`, one run each; target: at most 1.0x gzip's time;
#   (2) writing the .bmap as a build does against `bmaptool create` of the same image;
#       target: at least 10x faster;
#   (3) `mkbootmedia flash` to a loop device against `bmaptool copy` of the same image and
#       bmap; target: at least 1.0 (bmaptool's time / flash's). flash also reads every
#       range back; its time without that (--no-verify) is printed too, as is dd's.
# Each step checks that it did what it names: the .zst and the .gz decompress to the image, the
# .bmap's ranges are the image's data (bmaptool copies with it, verifying its hashes), the
# device holds the image after flash.
#   bench/output.sh [--smoke] [IMAGE [CACHE_DIR]]
# IMAGE: a raw image built by mkbootmedia (default: examples/usb-debian.yml is built with
# CACHE_DIR, default /var/cache/mkbootmedia-tests). Needs root (loop devices), zstd and
# bmap-tools.
# --smoke: a 64 MiB image with 24 MiB of files (no packages), one run of each.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
smoke=
[ "${1:-}" = --smoke ] && { smoke=1; shift; }
img=${1:-}
cache=${2:-${MKBOOTMEDIA_TEST_CACHE:-/var/cache/mkbootmedia-tests}}
work=$(mktemp -d /tmp/mkbootmedia-bench.XXXXXX)
loop=
cleanup() {
	[ -z "$loop" ] || losetup -d "$loop" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
export SOURCE_DATE_EPOCH=1700000000 MKBOOTMEDIA_NO_PROGRESS=1 LC_ALL=C
for p in zstd bmaptool losetup bc; do
	command -v $p >/dev/null || { echo "needs $p (tools/install-deps)" >&2; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "needs root (a loop device)" >&2; exit 2; }
source "$top/bench/lib.sh"
make -s -C "$top" mkbootmedia bench/output-bench
if [ -n "$smoke" ] && [ -z "$img" ]; then
	img=$work/smoke.img
	head -c $((16 << 20)) /dev/urandom >"$work/random"
	seq 1 1000000 >"$work/text"
	cat >"$work/smoke.yml" <<YAML
image: {size: 64MiB, seed: bench}
partitions:
  - {name: root, size: rest, filesystem: {type: ext4, mount: /}}
fstab: false
flash: false
files:
  - {path: /random, source: $work/random}
  - {path: /text, source: $work/text}
YAML
	"$top/mkbootmedia" -q --no-bmap "$work/smoke.yml" -o "$img"
elif [ -z "$img" ]; then
	img=$work/usb-debian.img
	"$top/mkbootmedia" -q --cache "$cache" "$top/examples/usb-debian.yml" -o "$img"
fi
size=$(stat -c %s "$img")
runs=${RUNS:-3}
[ -n "$smoke" ] && runs=1
# The raw image in the page cache for everyone.
cat "$img" >/dev/null
echo "image: $img, $(numfmt --to=iec "$size"), $(du -h "$img" | cut -f1) of data"

# timed CMD...: the seconds it took; nothing (and its output on stderr) when it fails, which
# took() refuses
timed() {
	local t0
	t0=$(now)
	"$@" >"$work/timed.log" 2>&1 || { echo "failed: $*" >&2; tail "$work/timed.log" >&2; return 1; }
	secs "$t0" "$(now)"
}
# took TIME...: the smallest; a step whose time is missing failed
took() {
	for t in "$@"; do
		[ -n "$t" ] || bench_fail "a timed step failed"
	done
	min "$@"
}

# (1) compression.
a=() b=()
for _ in $(seq "$runs"); do
	a+=("$("$top/bench/output-bench" zst "$img" "$work/ours.img.zst")")
	b+=("$(timed zstd -q -T0 -3 -f "$img" -o "$work/zstd.img.zst")")
done
t_ours=$(took "${a[@]}")
t_zstd=$(took "${b[@]}")
echo "zstd: mkbootmedia ${t_ours}s ($(stat -c %s "$work/ours.img.zst") bytes), zstd -T0 ${t_zstd}s ($(stat -c %s "$work/zstd.img.zst") bytes): ratio $(ratio "$t_ours" "$t_zstd") (target <= 1.1)"
zstd -qdc "$work/ours.img.zst" | cmp - "$img" || bench_fail "the .zst is not the image"
zst_result=$(result output-zst "$t_ours" "$t_zstd" "$(ratio "$t_ours" "$t_zstd")" '<=1.1')

# (1b) .gz: blocks deflated on every thread against single-threaded `gzip -6` (what a user
# without pigz runs; level 6 on both sides). One run each: gzip takes half a minute.
a=("$("$top/bench/output-bench" gz "$img" "$work/ours.img.gz")")
b=("$(timed sh -c 'gzip -6 -c "$1" >"$2"' sh "$img" "$work/gzip.img.gz")")
t_ours=$(took "${a[@]}")
t_gzip=$(took "${b[@]}")
echo "gzip: mkbootmedia ${t_ours}s ($(stat -c %s "$work/ours.img.gz") bytes), gzip -6 ${t_gzip}s ($(stat -c %s "$work/gzip.img.gz") bytes): ratio $(ratio "$t_ours" "$t_gzip") (target <= 1.0)"
gzip -dc "$work/ours.img.gz" | cmp - "$img" || bench_fail "the .gz is not the image"
rm -f "$work/ours.img.gz" "$work/gzip.img.gz"
gz_result=$(result output-gz "$t_ours" "$t_gzip" "$(ratio "$t_ours" "$t_gzip")" '<=1.0')

# (2) the block map.
a=() b=()
for _ in $(seq "$runs"); do
	a+=("$("$top/bench/output-bench" bmap "$img" "$work/ours.bmap")")
	b+=("$(timed bmaptool create -o "$work/bmaptool.bmap" "$img")")
done
t_ours=$(took "${a[@]}")
t_bmaptool=$(took "${b[@]}")
echo "bmap: mkbootmedia ${t_ours}s, bmaptool create ${t_bmaptool}s: $(ratio "$t_bmaptool" "$t_ours")x faster (target >= 10)"
bmap_result=$(result output-bmap "$t_ours" "$t_bmaptool" "$(ratio "$t_bmaptool" "$t_ours")" '>=10')

# (3) writing to a loop device (a fresh sparse backing file each time).
fresh() {
	[ -z "$loop" ] || losetup -d "$loop"
	rm -f "$work/dev"
	truncate -s "$size" "$work/dev"
	loop=$(losetup -f --show "$work/dev")
	sync
}
a=() b=() c=() d=()
for _ in $(seq "$runs"); do
	fresh
	a+=("$(timed bmaptool copy --bmap "$work/ours.bmap" "$img" "$loop")")
	fresh
	b+=("$(timed "$top/mkbootmedia" flash "$img" "$loop" --bmap "$work/ours.bmap" --force --yes)")
	# what flash wrote, by cmp (the unmapped ranges of the fresh device are zeros)
	cmp "$img" "$loop" || bench_fail "the device does not hold the image after flash"
	fresh
	c+=("$(timed "$top/mkbootmedia" flash "$img" "$loop" --bmap "$work/ours.bmap" --force --yes --no-verify)")
	fresh
	d+=("$(timed dd if="$img" of="$loop" bs=4M conv=fsync)")
done
t_copy=$(took "${a[@]}")
t_flash=$(took "${b[@]}")
t_nover=$(took "${c[@]}")
t_dd=$(took "${d[@]}")
echo "flash: mkbootmedia ${t_flash}s (without the read-back ${t_nover}s), bmaptool copy ${t_copy}s: ratio $(ratio "$t_copy" "$t_flash") (target >= 1.0); dd ${t_dd}s"
echo "$zst_result"
echo "$gz_result"
echo "$bmap_result"
result output-flash "$t_flash" "$t_copy" "$(ratio "$t_copy" "$t_flash")" '>=1.0'
