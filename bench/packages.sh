#!/bin/bash
# Benchmark (not a test): the same resolved package set (bookworm minbase + linux-image-amd64
# + sysvinit-core + busybox + cryptsetup-bin) from a warm cache,
#   (a) mkbootmedia: verified .debs unpacked straight into an ext2 image (configure: none),
#       decoding every package (--no-unpack-cache: what the floor measures);
#   (a') the same reading the unpack cache (the default; the warm-up build filled it);
#   (b) mmdebstrap --variant=extract into a directory, then mke2fs -t ext2 -d;
#   floor: only decompressing every data.tar of the set, on all cores;
# the three alternating, best of RUNS (default 3), so the ratios hold on a noisy machine.
# Prints b/a (target >= 2), a/floor (target <= 1.2), b/a' and mkbootmedia's peak RSS over the runs
# (target < 128 MiB), and checks that the timed build unpacked only (the plan says
# configure: none and the image's dpkg status has every package "install ok unpacked").
#   bench/packages.sh [--smoke] [CACHE_DIR]   (run as root for mmdebstrap; needs GNU time)
# --smoke: busybox, mawk and sed with their dependencies, one run: that the bench runs and
# measures what it says. BENCH_CONFIGURE overrides the recipe's configure: (the bench must
# then refuse: tests/cases/bench-smoke).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
smoke=
[ "${1:-}" = --smoke ] && { smoke=1; shift; }
cache=${1:-${MKBOOTMEDIA_TEST_CACHE:-/var/cache/mkbootmedia-tests}}
work=$(mktemp -d /tmp/mkbootmedia-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work" # mmdebstrap's unshared apt reads the flat repository in it
export SOURCE_DATE_EPOCH=1700000000 MKBOOTMEDIA_NO_PROGRESS=1 LC_ALL=C
command -v mmdebstrap >/dev/null && [ -x /usr/bin/time ] ||
	{ echo "needs mmdebstrap and GNU time (apt-get install mmdebstrap time)" >&2; exit 2; }
source "$top/tests/lib.sh" # flat_repo
source "$top/bench/lib.sh"
if [ -n "$smoke" ]; then
	size=256MiB variant=none include="[busybox, mawk, sed]" runs=1
else
	size=2GiB variant=minbase include="[linux-image-amd64, sysvinit-core, busybox, cryptsetup-bin]"
	runs=${RUNS:-3}
fi
cat >"$work/set.yml" <<YAML
image: {size: $size, seed: bench}
partitions:
  - {name: root, size: rest, filesystem: {type: ext2, mount: /}}
fstab: false
flash: false
packages:
  suite: bookworm
  extra-suites: []           # the main suite only, as mmdebstrap is given
  variant: $variant
  include: $include
  configure: ${BENCH_CONFIGURE:-none}   # unpacking only: the peer (--variant=extract) configures nothing
YAML
mkbm() { "$top/mkbootmedia" --cache "$cache" "$@"; }
mkbm check "$work/set.yml" 2>/dev/null >"$work/check.txt"
expect_stage_unpack "$work/check.txt" ""
sed -n '/^packages:/,/^[a-z]/p' "$work/check.txt" >"$work/plan.txt"
# name and version: the cache also holds other suites' versions (trixie, -security)
awk '/^  / { print $1, $2 }' "$work/plan.txt" >"$work/list.txt"
# Warm the cache (and the page cache) with one build.
mkbm -q --no-bmap "$work/set.yml" -o "$work/warm.img"
rm -f "$work/warm.img"
echo "set: $(head -n1 "$work/plan.txt")"
# mmdebstrap fetches through apt; give it our verified cache as a flat local repository
# so that both sides start from the same warm files and nothing is downloaded.
flat_repo "$cache" "$work/list.txt" "$work/repo"

as=() bs=() cs=() fs=() rss=()
for i in $(seq "$runs"); do
	# (a)
	rm -f "$work/a.img"
	t0=$(now)
	/usr/bin/time -f '%M %U %S' -o "$work/rss" "$top/mkbootmedia" --cache "$cache" -q --no-bmap \
		--no-unpack-cache "$work/set.yml" -o "$work/a.img"
	as+=("$(secs "$t0" "$(now)")")
	read -r kib u s <<<"$(tail -n 1 "$work/rss")"
	rss+=("$((kib / 1024))")
	acpu=$(echo "$u + $s" | bc)
	# (a')
	rm -f "$work/c.img"
	t0=$(now)
	/usr/bin/time -f '%M %U %S' -o "$work/rss" "$top/mkbootmedia" --cache "$cache" -q --no-bmap \
		"$work/set.yml" -o "$work/c.img"
	cs+=("$(secs "$t0" "$(now)")")
	read -r kib u s <<<"$(tail -n 1 "$work/rss")"
	rss+=("$((kib / 1024))")
	cmp "$work/a.img" "$work/c.img" || bench_fail "the image from the unpack cache differs"

	# (b)
	rm -rf "$work/mm" "$work/b.img"
	t0=$(now)
	mmdebstrap --quiet --variant=extract --include="$(cut -d' ' -f1 "$work/list.txt" | paste -sd,)" \
		--setup-hook=/usr/share/mmdebstrap/hooks/merged-usr/setup00.sh \
		bookworm "$work/mm" "deb [trusted=yes] copy://$work/repo ./" >"$work/mm.log" 2>&1 ||
		{ tail "$work/mm.log"; exit 1; }
	mb=$(du -sm "$work/mm" | cut -f1)
	truncate -s $((mb * 2 + 16))M "$work/b.img"
	mke2fs -q -t ext2 -d "$work/mm" -E root_owner=0:0 "$work/b.img"
	bs+=("$(secs "$t0" "$(now)")")

	# floor: decompress every data.tar on all cores, nothing written.
	t0=$(now)
	/usr/bin/time -f '%U %S' -o "$work/fcpu" sh -c \
		'ls "$0"/*.deb | xargs -P "$(nproc)" -n 1 sh -c '\''dpkg-deb --fsys-tarfile "$0" >/dev/null'\' \
		"$work/repo"
	fs+=("$(secs "$t0" "$(now)")")
	fcpu=$(tail -n 1 "$work/fcpu" | awk '{ print $1 + $2 }')
	# CPU seconds (user + system) too: on a loaded machine the wall times also measure
	# how many threads each side keeps runnable
	echo "run $i: mkbootmedia ${as[-1]} s (CPU $acpu s, peak RSS ${rss[-2]} MiB)," \
		"from the unpack cache ${cs[-1]} s (peak RSS ${rss[-1]} MiB)," \
		"mmdebstrap + mke2fs -d ${bs[-1]} s, floor ${fs[-1]} s (CPU $fcpu s)"
done
# What was timed is what the bench names: unpacking, no maintainer script run.
expect_stage_unpack "$work/check.txt" "$work/a.img"
a=$(min "${as[@]}") b=$(min "${bs[@]}") c=$(min "${cs[@]}") floor=$(min "${fs[@]}")
peak=$(max "${rss[@]}")

printf 'mkbootmedia:               %6.2f s  (peak RSS %d MiB; target < 128)\n' "$a" "$peak"
printf 'from the unpack cache:     %6.2f s\n' "$c"
printf 'mmdebstrap + mke2fs -d:    %6.2f s\n' "$b"
printf 'decompression floor:       %6.2f s\n' "$floor"
printf 'speed-up over the peer:    %6.2fx  (target >= 2)\n' "$(ratio "$b" "$a")"
printf 'mkbootmedia / floor:       %6.2fx  (target <= 1.2)\n' "$(ratio "$a" "$floor")"
result packages "$a" "$b" "$(ratio "$b" "$a")" '>=2'
result packages-floor "$a" "$floor" "$(ratio "$a" "$floor")" '<=1.2'
result packages-cached "$c" "$b" "$(ratio "$b" "$c")" '>=2'
result packages-rss "$peak" - "$peak" '<128' MiB
