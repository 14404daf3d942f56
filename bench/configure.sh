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
# and prints a/b (target <= 0.2 for bookworm, as issue 21 keeps it; 0.3 for trixie, the
# trixie issue's; BENCH_TARGET overrides). It checks that the timed build configured: the
# plan's configure: is not none and the image's dpkg status has every package "install ok
# installed".
#   bench/configure.sh [--smoke] [CACHE_DIR]  (mmdebstrap's unshare mode; as root or with subuids)
#   BENCH_EXAMPLE=examples/usb-trixie.yml BENCH_SUITE=trixie bench/configure.sh
#                                      the same for Debian 13 with systemd
# --smoke: a small configured root (dpkg and what its scripts need, configure: userns; the
# peer mmdebstrap --variant=custom of the same list from the cache only): that the bench
# runs and measures the configure stage. BENCH_CONFIGURE overrides its configure: (none
# must be refused: tests/cases/bench-smoke).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
smoke=
[ "${1:-}" = --smoke ] && { smoke=1; shift; }
cache=${1:-${MKBOOTMEDIA_TEST_CACHE:-/var/cache/mkbootmedia-tests}}
work=$(mktemp -d /tmp/mkbootmedia-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work" # mmdebstrap's unshared apt reads the flat repository in it
export SOURCE_DATE_EPOCH=1700000000 MKBOOTMEDIA_NO_PROGRESS=1 LC_ALL=C
command -v mmdebstrap >/dev/null || { echo "needs mmdebstrap" >&2; exit 2; }
source "$top/tests/lib.sh" # flat_repo
source "$top/bench/lib.sh"
suite=${BENCH_SUITE:-bookworm}
case $suite in
bookworm) target=${BENCH_TARGET:-0.2} ;;
*) target=${BENCH_TARGET:-0.3} ;;
esac
if [ -n "$smoke" ]; then
	ex=$work/smoke.yml
	cat >"$ex" <<YAML
image: {size: 256MiB, seed: bench}
partitions:
  - {name: root, size: rest, filesystem: {type: ext4, mount: /}}
fstab: false
flash: false
packages:
  suite: $suite
  extra-suites: []
  variant: none
  include: [dpkg, base-files, base-passwd, dash, coreutils, mawk, debianutils, diffutils,
            sed, grep, findutils, libc-bin]
  configure: ${BENCH_CONFIGURE:-userns}
YAML
else
	ex=$top/${BENCH_EXAMPLE:-examples/usb-debian.yml}
fi
mkbm() { "$top/mkbootmedia" --cache "$cache" "$@"; }
mkbm check "$ex" 2>/dev/null >"$work/check.txt"
expect_stage_configure "$work/check.txt" ""
sed -n '/^packages:/,/^[a-z]/p' "$work/check.txt" >"$work/plan.txt"
# name and version: the cache also holds other suites' versions
awk '/^  [a-z0-9][^ ]* +[0-9]/ { print $1, $2 }' "$work/plan.txt" >"$work/list.txt"
# Warm the cache (and the page cache) with one build. It also fills the unpack cache (the
# kernel's data.tar, decoded, as zstd: README, --cache), which the timed build reads, as a
# user's second build does; bench/packages.sh measures the decoding itself.
# --no-bmap: the peer writes no block map (bench/output.sh measures ours).
mkbm -q --no-bmap "$ex" -o "$work/warm.img"
rm -f "$work/warm.img"
echo "set: $(head -n1 "$work/plan.txt")"
flat_repo "$cache" "$work/list.txt" "$work/repo"

t0=$(now)
mkbm -q --no-bmap "$ex" -o "$work/a.img"
a=$(secs "$t0" "$(now)")
# What was timed is what the bench names: every package configured.
expect_stage_configure "$work/check.txt" "$work/a.img"

# mmdebstrap takes our cached .debs from a flat repository and only initramfs-tools and
# its few small dependencies from the mirror (a first, untimed run warms that up). It is
# asked for our whole package set by name, so both sides install the same packages, and
# given the recipe's path filters as the plan lists them (dpkg's own --path-exclude and
# --path-include), so both sides unpack the same files.
filters=()
while read -r kind glob; do
	filters+=("--dpkgopt=$kind=$glob")
done < <(grep -E '^path-(exclude|include) ' "$work/check.txt" || true)
mmb() {
	if [ -n "$smoke" ]; then
		# the merged-usr hooks' essential step needs apt: only the layout here
		set -- --variant=custom --include="$(cut -d' ' -f1 "$work/list.txt" | paste -sd,)" \
			--setup-hook=/usr/share/mmdebstrap/hooks/merged-usr/setup00.sh \
			"$suite" "$1" "deb [trusted=yes] copy://$work/repo ./"
	else
		set -- --variant=minbase --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
			--include="$(cut -d' ' -f1 "$work/list.txt" | paste -sd,),initramfs-tools" \
			"$suite" "$1" "deb [trusted=yes] copy://$work/repo ./" \
			"deb http://deb.debian.org/debian $suite main"
	fi
	mmdebstrap --quiet --mode=unshare ${filters[@]+"${filters[@]}"} "$@" >"$work/mm.log" 2>&1 || {
		grep -E '^E: |dpkg: error|Depends:|unmet|broken' "$work/mm.log" | head -20
		tail -5 "$work/mm.log"
		exit 1
	}
}
printf 'mkbootmedia (configured, bootable):   %6.2f s\n' "$a"
mmb "$work/warm"
rm -rf "$work/warm"
t0=$(now)
mmb "$work/mm"
truncate -s "$(stat -c %s "$work/a.img")" "$work/b.img"
mke2fs -q -t ext2 -d "$work/mm" -E root_owner=0:0 "$work/b.img"
b=$(secs "$t0" "$(now)")

printf 'mmdebstrap unshare + mke2fs -d:       %6.2f s\n' "$b"
printf 'mkbootmedia / peers:                  %6.2fx  (target <= %s)\n' "$(ratio "$a" "$b")" "$target"
result "configure-$suite" "$a" "$b" "$(ratio "$a" "$b")" "<=$target"
