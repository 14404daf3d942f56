#!/bin/bash
# Benchmark (not a test): a configured, bootable bookworm system (examples/usb-debian.yml:
# minbase + linux-image-amd64 + sysvinit + busybox-static + grub-pc-bin + cron, and since
# it became hybrid shim-signed + grub-efi-amd64-signed, from bookworm, -updates and
# -security) from a warm cache, in the same run:
#   (a) mkbootmedia: unpacked into the image, configured through the user namespace
#       (FUSE), its own initramfs, GRUB: the whole image;
#   (b) mmdebstrap --mode=unshare with the same packages (plus initramfs-tools, whose
#       mkinitramfs the kernel's postinst runs, where mkbootmedia makes its own initrd),
#       then mke2fs -t ext2 -d of its directory into an image of the same size;
# and prints a/b (target <= 0.6).
#   bench/configure.sh [CACHE_DIR]     (mmdebstrap's unshare mode; as root or with subuids)
#   BENCH_EXAMPLE=examples/usb-trixie.yml BENCH_SUITE=trixie bench/configure.sh
#                                      the same for Debian 13 with systemd
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:-${MKBOOTMEDIA_TEST_CACHE:-/var/cache/mkbootmedia-tests}}
work=$(mktemp -d /tmp/mkbootmedia-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work" # mmdebstrap's unshared apt reads the flat repository in it
export SOURCE_DATE_EPOCH=1700000000 MKBOOTMEDIA_NO_PROGRESS=1 LC_ALL=C
command -v mmdebstrap >/dev/null || { echo "needs mmdebstrap" >&2; exit 2; }
source "$top/tests/lib.sh" # flat_repo
ex=$top/${BENCH_EXAMPLE:-examples/usb-debian.yml}
suite=${BENCH_SUITE:-bookworm}
mkbm() { "$top/mkbootmedia" --cache "$cache" "$@"; }
mkbm check "$ex" 2>/dev/null | sed -n '/^packages:/,/^[a-z]/p' >"$work/plan.txt"
# name and version: the cache also holds other suites' versions
awk '/^  [a-z0-9][^ ]* +[0-9]/ { print $1, $2 }' "$work/plan.txt" >"$work/list.txt"
# Warm the cache (and the page cache) with one build.
# --no-bmap: the peer writes no block map (bench/output.sh measures ours).
mkbm -q --no-bmap "$ex" -o "$work/warm.img"
rm -f "$work/warm.img"
echo "set: $(head -n1 "$work/plan.txt")"
flat_repo "$cache" "$work/list.txt" "$work/repo"

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

t0=$(now)
mkbm -q --no-bmap "$ex" -o "$work/a.img"
t1=$(now)
a=$(secs "$t0" "$t1")

# mmdebstrap takes our cached .debs from a flat repository and only initramfs-tools and
# its few small dependencies from the mirror (a first, untimed run warms that up). It is
# asked for our whole package set by name, so both sides install the same packages.
mmb() {
	mmdebstrap --quiet --mode=unshare --variant=minbase \
		--include="$(cut -d' ' -f1 "$work/list.txt" | paste -sd,),initramfs-tools" \
		--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
		"$suite" "$1" "deb [trusted=yes] copy://$work/repo ./" \
		"deb http://deb.debian.org/debian $suite main" >"$work/mm.log" 2>&1 ||
		{ tail -20 "$work/mm.log"; exit 1; }
}
printf 'mkbootmedia (configured, bootable):   %6.2f s\n' "$a"
mmb "$work/warm"
rm -rf "$work/warm"
t0=$(now)
mmb "$work/mm"
truncate -s "$(stat -c %s "$work/a.img")" "$work/b.img"
mke2fs -q -t ext2 -d "$work/mm" -E root_owner=0:0 "$work/b.img"
t1=$(now)
b=$(secs "$t0" "$t1")

printf 'mmdebstrap unshare + mke2fs -d:       %6.2f s\n' "$b"
printf 'mkbootmedia / peers:                  %6.2fx  (target <= 0.6)\n' "$(echo "$a / $b" | bc -l)"
