#!/bin/bash
# Benchmark (not a test): the same resolved package set (bookworm minbase + linux-image-amd64
# + sysvinit-core + busybox + cryptsetup-bin) from a warm cache,
#   (a) mkbootmedia: verified .debs unpacked straight into an ext2 image;
#   (b) mmdebstrap --variant=extract into a directory, then mke2fs -t ext2 -d;
#   floor: only decompressing every data.tar of the set, on all cores;
# all in the same run, so the ratios hold on a noisy machine. Prints b/a (target >= 2),
# a/floor (target <= 1.3) and mkbootmedia's peak RSS (target < 200 MiB).
#   bench/packages.sh [CACHE_DIR]      (run as root for mmdebstrap; needs GNU time)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:-${MKBOOTMEDIA_TEST_CACHE:-/var/cache/mkbootmedia-tests}}
work=$(mktemp -d /tmp/mkbootmedia-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work" # mmdebstrap's unshared apt reads the flat repository in it
export SOURCE_DATE_EPOCH=1700000000 MKBOOTMEDIA_NO_PROGRESS=1 LC_ALL=C
command -v mmdebstrap >/dev/null && [ -x /usr/bin/time ] ||
	{ echo "needs mmdebstrap and GNU time (apt-get install mmdebstrap time)" >&2; exit 2; }
cat >"$work/set.yml" <<'YAML'
image: {size: 2GiB, seed: bench}
partitions:
  - {name: root, size: rest, filesystem: {type: ext2, mount: /}}
fstab: false
flash: false
packages:
  suite: bookworm
  extra-suites: []           # the main suite only, as mmdebstrap is given
  variant: minbase
  include: [linux-image-amd64, sysvinit-core, busybox, cryptsetup-bin]
  configure: none            # unpacking only: the peer (--variant=extract) configures nothing
YAML
source "$top/tests/lib.sh" # flat_repo
mkbm() { "$top/mkbootmedia" --cache "$cache" "$@"; }
mkbm check "$work/set.yml" 2>/dev/null | sed -n '/^packages:/,/^[a-z]/p' >"$work/plan.txt"
# name and version: the cache also holds other suites' versions (trixie, -security)
awk '/^  / { print $1, $2 }' "$work/plan.txt" >"$work/list.txt"
# Warm the cache (and the page cache) with one build.
mkbm -q --no-bmap "$work/set.yml" -o "$work/warm.img"
rm -f "$work/warm.img"
echo "set: $(head -n1 "$work/plan.txt")"

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

# (a)
t0=$(now)
/usr/bin/time -f '%M' -o "$work/rss" "$top/mkbootmedia" --cache "$cache" -q --no-bmap "$work/set.yml" -o "$work/a.img"
t1=$(now)
a=$(secs "$t0" "$t1")
rss=$(( $(cat "$work/rss") / 1024 ))

# (b): mmdebstrap fetches through apt; give it our verified cache as a flat local repository
# so that both sides start from the same warm files and nothing is downloaded.
flat_repo "$cache" "$work/list.txt" "$work/repo"
t0=$(now)
mmdebstrap --quiet --variant=extract --include="$(cut -d' ' -f1 "$work/list.txt" | paste -sd,)" \
	--setup-hook=/usr/share/mmdebstrap/hooks/merged-usr/setup00.sh \
	bookworm "$work/mm" "deb [trusted=yes] copy://$work/repo ./" >"$work/mm.log" 2>&1 || { tail "$work/mm.log"; exit 1; }
size=$(du -sm "$work/mm" | cut -f1)
truncate -s $((size * 2))M "$work/b.img"
mke2fs -q -t ext2 -d "$work/mm" -E root_owner=0:0 "$work/b.img"
t1=$(now)
b=$(secs "$t0" "$t1")

# floor: decompress every data.tar on all cores, nothing written.
t0=$(now)
ls "$work"/repo/*.deb | xargs -P "$(nproc)" -n 1 sh -c 'dpkg-deb --fsys-tarfile "$0" >/dev/null'
t1=$(now)
floor=$(secs "$t0" "$t1")

printf 'mkbootmedia:               %6.2f s  (peak RSS %d MiB; target < 200)\n' "$a" "$rss"
printf 'mmdebstrap + mke2fs -d:    %6.2f s\n' "$b"
printf 'decompression floor:       %6.2f s\n' "$floor"
printf 'speed-up over the peer:    %6.2fx  (target >= 2)\n' "$(echo "$b / $a" | bc -l)"
printf 'mkbootmedia / floor:       %6.2fx  (target <= 1.3)\n' "$(echo "$a / $floor" | bc -l)"
