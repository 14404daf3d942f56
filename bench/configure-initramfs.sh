#!/bin/bash
# Benchmark (not a test): configuring a system whose maintainer scripts do heavy I/O. The set
# is bookworm minbase + linux-image-amd64, sysvinit-core, busybox and initramfs-tools, without
# `provides: [linux-initramfs-tool]`, so Debian's mkinitramfs runs in the target. mmdebstrap
# runs it twice (the kernel's postinst hook, then initramfs-tools' trigger); mkbootmedia's
# configure stage, and (c) which copies its script, tell the hook to skip (INITRD=No) and run
# it once after the last package, for the same result. From a warm cache, in the same run:
#   (a) mkbootmedia, configure: userns (the scripts run over e2fuse): the whole build, and its
#       configure stage alone (its own timing, -v);
#   (b) mmdebstrap --mode=unshare --variant=minbase --include= the same packages (from a flat
#       repository of the versions mkbootmedia planned), then mke2fs -t ext2 -d into an image
#       of the same size;
#   (c) native, as root only: the same maintainer scripts (stages/configure.c's order: the
#       preinsts, then dpkg --configure) in an unshare --mount --pid chroot over a copy of
#       the unpacked tree (mkbootmedia with configure: none, copied out with debugfs rdump)
#       in a tmpfs: what the configure stage costs without FUSE.
# Prints a/b (target <= 0.6) and configure/native (target <= 1.3), and checks that what it
# timed did what it names: every planned package configured in both results, an initramfs
# in /boot of both (bench/lib.sh's checks). For bench/run, the RESULT lines
#   RESULT name=configure-initramfs-native ours=<s> peer=<s> ratio=<x> target=<=1.3 (as root)
#   RESULT name=configure-initramfs ours=<s> peer=<s> ratio=<x> target=<=0.6
#   bench/configure-initramfs.sh [--smoke] [CACHE_DIR]
#     --smoke: minbase + busybox, no kernel (so no mkinitramfs): only that it runs and that
#     the configure stage ran on both sides
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
smoke=false
if [ "${1:-}" = --smoke ]; then
	smoke=true
	shift
fi
cache=${1:-${MKBOOTMEDIA_TEST_CACHE:-/var/cache/mkbootmedia-tests}}
work=$(mktemp -d /tmp/mkbootmedia-bench.XXXXXX)
trap '[ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"' EXIT
chmod 755 "$work" # mmdebstrap's unshared apt reads the flat repository in it
export SOURCE_DATE_EPOCH=1700000000 MKBOOTMEDIA_NO_PROGRESS=1 LC_ALL=C
for tool in mmdebstrap mke2fs debugfs bc dpkg-scanpackages; do
	command -v "$tool" >/dev/null ||
		{ echo "needs $tool (apt-get install mmdebstrap e2fsprogs bc dpkg-dev)" >&2; exit 2; }
done
source "$top/tests/lib.sh" # flat_repo
source "$top/bench/lib.sh"

if $smoke; then
	include="[busybox]"
else
	include="[linux-image-amd64, sysvinit-core, busybox, initramfs-tools]"
fi
recipe() { # $1: configure mode
	cat <<YAML
image: {size: 2GiB, seed: bench}
partitions:
  - {name: root, size: rest, filesystem: {type: ext2, mount: /}}
fstab: false
flash: false
packages:
  suite: bookworm
  extra-suites: []           # the main suite only, as mmdebstrap is given
  variant: minbase
  include: $include
  configure: $1
YAML
}
recipe userns >"$work/set.yml"
recipe none >"$work/unpacked.yml"
mkbm() { "$top/mkbootmedia" --cache "$cache" "$@"; }
mkbm check "$work/set.yml" 2>/dev/null >"$work/check.txt"
expect_stage_configure "$work/check.txt" ""
sed -n '/^packages:/,/^[a-z]/p' "$work/check.txt" >"$work/plan.txt"
# name and version: the cache also holds other suites' versions (trixie, -security)
awk '/^  [a-z0-9][^ ]* +[0-9]/ { print $1, $2 }' "$work/plan.txt" >"$work/list.txt"
n_pkgs=$(wc -l <"$work/list.txt")
[ "$n_pkgs" -gt 0 ] || { echo "no package in the plan of $work/set.yml" >&2; exit 1; }
# Warm the cache (and the page cache) with one build.
mkbm -q --no-bmap "$work/set.yml" -o "$work/warm.img"
rm -f "$work/warm.img"
echo "set: $(head -n1 "$work/plan.txt")"
flat_repo "$cache" "$work/list.txt" "$work/repo"
# mmdebstrap picks minbase's Priority: required packages with an apt pattern on the suite's
# name, which a repository without a Release file does not have.
{
	printf 'Suite: bookworm\nCodename: bookworm\nArchitectures: amd64\nSHA256:\n'
	printf ' %s %s Packages\n' "$(sha256sum <"$work/repo/Packages" | cut -d' ' -f1)" \
		"$(stat -c %s "$work/repo/Packages")"
} >"$work/repo/Release"

root_fs() { echo "$1?offset=$((1024 * 1024))"; } # the root partition starts at 1 MiB
# The packages dpkg has configured in mmdebstrap's tree.
installed() { grep -c '^Status: install ok installed$' "$1/var/lib/dpkg/status" || true; }
has_initrd() {
	if [ -d "$1" ]; then
		ls "$1"/boot/initrd.img-* >/dev/null 2>&1
	else
		debugfs -R "ls -l /boot" "$(root_fs "$1")" 2>/dev/null | grep -q ' initrd\.img-'
	fi
}

# (a)
t0=$(now)
mkbm -v --no-bmap "$work/set.yml" -o "$work/a.img" 2>"$work/a.log"
t1=$(now)
a=$(secs "$t0" "$t1")
conf=$(awk '$2 == "stage" && $3 == "configure" { sub(/s$/, "", $4); print $4 }' "$work/a.log")
[ -n "$conf" ] || { echo "no configure stage in mkbootmedia's log" >&2; exit 1; }

# (b): our cached .debs from a flat repository; nothing downloaded, the same versions.
t0=$(now)
mmdebstrap --quiet --mode=unshare --variant=minbase \
	--include="$(cut -d' ' -f1 "$work/list.txt" | paste -sd,)" \
	--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
	bookworm "$work/mm" "deb [trusted=yes] copy://$work/repo ./" >"$work/mm.log" 2>&1 ||
	{ grep -v '^I: \|^Get:' "$work/mm.log" | tail -20; exit 1; }
truncate -s "$(stat -c %s "$work/a.img")" "$work/b.img"
mke2fs -q -t ext2 -d "$work/mm" -E root_owner=0:0 "$work/b.img"
t1=$(now)
b=$(secs "$t0" "$t1")

# Both did what is timed: every package configured, mkinitramfs run.
expect_stage_configure "$work/check.txt" "$work/a.img"
peer_n=$(installed "$work/mm")
[ "$peer_n" -ge "$n_pkgs" ] ||
	{ echo "mmdebstrap configured $peer_n of $n_pkgs packages" >&2; exit 1; }
if ! $smoke; then
	has_initrd "$work/a.img" || { echo "no /boot/initrd.img-* in mkbootmedia's image" >&2; exit 1; }
	has_initrd "$work/mm" || { echo "no /boot/initrd.img-* in mmdebstrap's tree" >&2; exit 1; }
fi

# (c): the maintainer scripts natively, as stages/configure.c runs them (without the
# recipe's system settings, which this set has none of).
native=
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	mkbm -q --no-bmap "$work/unpacked.yml" -o "$work/u.img"
	mkdir "$work/tree"
	debugfs -R "rdump / $work/tree" "$(root_fs "$work/u.img")" >/dev/null 2>&1
	rm -f "$work/u.img"
	cat >"$work/tree/configure.sh" <<'EOF'
set -e
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LC_ALL=C.UTF-8 LANG=C.UTF-8 LANGUAGE= TERM=dumb
export DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true DEBIAN_PRIORITY=critical
unset TMPDIR
cd /
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
mkdir -p /etc/dpkg/dpkg.cfg.d
printf 'force-unsafe-io\n' >/etc/dpkg/dpkg.cfg.d/mkbootmedia-unsafe-io
early='base-passwd base-files dpkg libc6 perl-base mawk debconf'
preinst() {
	DPKG_MAINTSCRIPT_PACKAGE=${1%%:*} DPKG_MAINTSCRIPT_NAME=preinst \
	DPKG_MAINTSCRIPT_ARCH=$(dpkg --print-architecture) DPKG_ADMINDIR=/var/lib/dpkg DPKG_ROOT= \
	DPKG_RUNNING_VERSION=$(dpkg-query -W -f='${Version}' dpkg) \
		/var/lib/dpkg/info/$1.preinst install
}
for p in $early; do
	for f in /var/lib/dpkg/info/$p.preinst /var/lib/dpkg/info/$p:*.preinst; do
		[ -e "$f" ] || continue; f=${f##*/}; preinst "${f%.preinst}"
	done
done
for f in /var/lib/dpkg/info/*.preinst; do
	[ -e "$f" ] || continue; f=${f##*/}; f=${f%.preinst}
	case " $early " in *" ${f%%:*} "*) continue;; esac
	preinst "$f"
done
initrd_later=
if [ -e /etc/kernel/postinst.d/initramfs-tools ] ||
	[ -e /etc/kernel/postinst.d/initramfs-tools.dpkg-new ]; then
	export INITRD=No; initrd_later=1
fi
for p in base-passwd base-files; do
	if dpkg-query -W -f='${db:Status-Abbrev}' $p 2>/dev/null | grep -q '^iU'; then
		dpkg --force-depends --force-confdef --force-confold --configure $p
	fi
done
dpkg --configure --pending --force-configure-any --force-depends --force-confdef --force-confold
dpkg --configure -a --force-confdef --force-confold
if [ -n "$initrd_later" ]; then
	unset INITRD
	for v in $(linux-version list | linux-version sort); do
		[ -e /boot/initrd.img-$v ] || update-initramfs -c -k "$v"
	done
fi
rm -f /usr/sbin/policy-rc.d /etc/dpkg/dpkg.cfg.d/mkbootmedia-unsafe-io
EOF
	# A private mount and PID namespace: a tmpfs with the tree, /proc, a small /dev and
	# /run as the sandbox has them; only the chroot is timed.
	cat >"$work/native.sh" <<'EOF'
set -e
d=$1/root
mkdir "$d"
mount -t tmpfs -o mode=755 tmpfs "$d"
cp -a "$1/tree/." "$d/"
mount -t proc proc "$d/proc"
mount -t tmpfs -o mode=755 tmpfs "$d/dev"
for n in null zero full random urandom tty; do
	touch "$d/dev/$n"
	mount --bind "/dev/$n" "$d/dev/$n"
done
ln -s /proc/self/fd "$d/dev/fd"
mkdir "$d/dev/pts" "$d/dev/shm"
mount -t tmpfs -o mode=755 tmpfs "$d/run"
t0=$(date +%s.%N)
chroot "$d" /bin/sh /configure.sh >"$1/native.log" 2>&1
t1=$(date +%s.%N)
echo "$t1 - $t0" | bc >"$1/native.time"
installed=$(grep -c '^Status: install ok installed$' "$d/var/lib/dpkg/status" || true)
echo "$installed" >"$1/native.n"
if ls "$d"/boot/initrd.img-* >/dev/null 2>&1; then echo yes >"$1/native.initrd"; fi
EOF
	unshare --mount --pid --fork --propagation private sh "$work/native.sh" "$work" ||
		{ tail -20 "$work/native.log" 2>/dev/null; exit 1; }
	[ "$(cat "$work/native.n")" -ge "$n_pkgs" ] ||
		{ echo "the native run configured $(cat "$work/native.n") of $n_pkgs packages" >&2; exit 1; }
	$smoke || [ -e "$work/native.initrd" ] ||
		{ echo "no /boot/initrd.img-* after the native run" >&2; exit 1; }
	native=$(printf "%.2f" "$(cat "$work/native.time")")
fi

ratio=$(ratio "$a" "$b")
printf 'mkbootmedia (configure: userns):      %7.2f s  (configure stage %.2f s; %d packages)\n' \
	"$a" "$conf" "$n_pkgs"
printf 'mmdebstrap unshare + mke2fs -d:       %7.2f s\n' "$b"
if [ -n "$native" ]; then
	printf 'the same scripts natively (tmpfs):    %7.2f s\n' "$native"
	printf 'configure stage / native:             %7.2fx  (target <= 1.3)\n' \
		"$(echo "$conf / $native" | bc -l)"
else
	echo 'the same scripts natively:            skipped (needs root)'
fi
printf 'mkbootmedia / peer:                   %7.2fx  (target <= 0.6)\n' "$ratio"
[ -z "$native" ] ||
	result configure-initramfs-native "$conf" "$native" "$(ratio "$conf" "$native")" "<=1.3"
result configure-initramfs "$a" "$b" "$ratio" "<=0.6"
