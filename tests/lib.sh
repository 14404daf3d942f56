# Helpers for case tests (sourced by tests/run in each case's subshell). Results are checked
# with independent tools: sfdisk, e2fsck, debugfs, dumpe2fs, never with mkbootmedia itself.

fail() {
	echo "  FAILED: $*" >&2
	exit 1
}

# mkbm ARGS...: runs mkbootmedia quietly-ish, stderr kept in $WORK/stderr.
mkbm() {
	"$MKBOOTMEDIA" "$@" 2>"$WORK/stderr"
}

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# expect_match TEXT REGEX WHAT
expect_match() {
	# a here-string, not a pipe: grep -q stops at the first match, and under pipefail the
	# writer's SIGPIPE would fail a match on a long text
	grep -Eq -- "$2" <<<"$1" || fail "$3: '$1' does not match /$2/"
}

# part_field IMAGE N FIELD: a field of partition N (1-based) from sfdisk --json.
part_field() {
	sfdisk --json "$1" | jq -r ".partitiontable.partitions[$(($2 - 1))].$3"
}

# part_extract IMAGE N OUT: copies partition N into OUT (sparse) for e2fsck and debugfs.
part_extract() {
	start=$(part_field "$1" "$2" start)
	size=$(part_field "$1" "$2" size)
	[ "$start" != null ] || fail "no partition $2 in $1"
	dd if="$1" of="$3" bs=1M iflag=skip_bytes,count_bytes skip=$((start * 512)) \
		count=$((size * 512)) conv=sparse status=none
}

# fsck_clean FSIMAGE: e2fsck -fn must find nothing.
fsck_clean() {
	out=$(e2fsck -fn "$1" 2>&1) || { echo "$out" >&2; fail "e2fsck -fn $1 found errors"; }
}

# dbg FSIMAGE REQUEST: a debugfs request, its output on stdout.
dbg() {
	debugfs -R "$2" "$1" 2>/dev/null
}

# stat_field FSIMAGE PATH: "mode uid gid type" of a path, from debugfs stat.
stat_field() {
	dbg "$1" "stat $2" | awk '
		/^Inode:/ { for (i = 1; i <= NF; i++) { if ($i == "Type:") t = $(i+1); if ($i == "Mode:") m = $(i+1) } }
		/^User:/ { u = $2; g = $4 }
		END { print m, u, g, t }'
}

# cat_file FSIMAGE PATH
cat_file() {
	dbg "$1" "cat $2"
}

# symlink_target FSIMAGE PATH
symlink_target() {
	dbg "$1" "stat $2" | sed -n 's/^Fast link dest: "\(.*\)"$/\1/p'
}

# sb_field FSIMAGE FIELD: a superblock field from dumpe2fs -h ("Filesystem volume name").
sb_field() {
	dumpe2fs -h "$1" 2>/dev/null | sed -n "s/^$2: *//p"
}

# expect_fail EXPECTED-TEXT ARGS...: mkbootmedia must fail, print the text, and leave no
# image (nor a temporary one) in $WORK/out.
expect_fail() {
	text=$1
	shift
	if "$MKBOOTMEDIA" "$@" 2>"$WORK/stderr"; then
		fail "mkbootmedia $* succeeded, expected failure"
	fi
	grep -Fq -- "$text" "$WORK/stderr" || {
		cat "$WORK/stderr" >&2
		fail "stderr lacks '$text'"
	}
	# one message, plus at most the stage's own layer ("stage 'files' failed")
	[ "$(grep -c '^error: ' "$WORK/stderr")" -le 2 ] || { cat "$WORK/stderr" >&2; fail "more than one message"; }
	left=$(ls -A "$WORK/out" 2>/dev/null)
	[ -z "$left" ] || fail "files left in the output directory: $left"
}

# boot_fail STATUS TEXT ARGS...: `mkbootmedia boot ARGS` exits with STATUS and one error
# holding TEXT.
boot_fail() {
	want=$1 text=$2
	shift 2
	set +e
	"$MKBOOTMEDIA" boot "$@" </dev/null >out.txt 2>err.txt
	rc=$?
	set -e
	expect_eq "$rc" "$want" "exit status of 'boot $*'"
	grep -Fq -- "$text" err.txt || { cat err.txt >&2; fail "boot $*: stderr lacks '$text'"; }
	[ "$(grep -c '^error: ' err.txt)" -eq 1 ] || { cat err.txt >&2; fail "boot $*: not one error"; }
}

# expect_sed_fail MESSAGE SED-ARGUMENTS...: r.yml edited by sed into bad.yml must be refused
# with MESSAGE, by check and by a build, each with one message and no image left (the
# download cache is $cache when set).
expect_sed_fail() {
	text=$1
	shift
	sed "$@" r.yml >bad.yml
	expect_fail "$text" ${cache:+--cache "$cache"} check bad.yml
	expect_fail "$text" ${cache:+--cache "$cache"} bad.yml -o out/x.img
}

# expect_case: the shared script of a case that is data (e2fsprogs' layout: `name` says what it
# tests, `expect` what it prints). The case's files
# (recipe.yml and what it names) are copied in, then mkbootmedia must fail with the text of
# `expect` (its first line), both for `check` and for a build. `args`, when present, holds the
# build's arguments instead (one line, split at blanks); `check` then is not run.
expect_case() {
	cp -r "$CASE"/. .
	text=$(head -n 1 expect)
	if [ -f args ]; then
		read -ra a <args
		expect_fail "$text" "${a[@]}"
	else
		expect_fail "$text" check recipe.yml
		expect_fail "$text" recipe.yml -o out/x.img
	fi
}

# deb_control NAME VERSION [FIELD-LINES...]: a control file on stdout.
deb_control() {
	printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: Test <test@example.org>\n' "$1" "$2"
	shift 2
	for l in "$@"; do printf '%s\n' "$l"; done
	printf 'Description: test package\n'
}

# mkdeb OUTDIR NAME VERSION ROOT [FIELD-LINES...]: builds OUTDIR/NAME_VERSION_all.deb with
# dpkg-deb from the tree ROOT (owned by root, every mtime SOURCE_DATE_EPOCH). Maintainer
# scripts and conffiles go in ROOT/DEBIAN before the call. MKDEB_LEVEL=N: xz -N (faster for
# big files) instead of dpkg-deb's default.
mkdeb() {
	out=$1 name=$2 version=$3 root=$4
	shift 4
	mkdir -p "$root/DEBIAN"
	deb_control "$name" "$version" "$@" >"$root/DEBIAN/control"
	find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	dpkg-deb --root-owner-group -Zxz ${MKDEB_LEVEL:+-z"$MKDEB_LEVEL"} --build "$root" \
		"$out/${name}_${version}_all.deb" >/dev/null
}

# mkdeb_tar OUT.deb NAME VERSION DATA.TAR [FIELD-LINES...]: a .deb around a data.tar the test
# made itself (bsdtar with an mtree spec or -s renames: entries dpkg-deb would never write).
mkdeb_tar() {
	out=$1 name=$2 version=$3 data=$4
	shift 4
	d=$(mktemp -d "$WORK/deb.XXXXXX")
	deb_control "$name" "$version" "$@" >"$d/control"
	(cd "$d" && bsdtar --format=gnutar --uid 0 --gid 0 -cf control.tar ./control)
	xz -c "$d/control.tar" >"$d/control.tar.xz"
	xz -c "$data" >"$d/data.tar.xz"
	printf '2.0\n' >"$d/debian-binary"
	(cd "$d" && ar qcD pkg.deb debian-binary control.tar.xz data.tar.xz)
	mv "$d/pkg.deb" "$out"
	rm -rf "$d"
}

# fs_list FSIMAGE: every entry of an ext2/3/4 image as "path type mode uid gid size link",
# sorted: type f d l c b p, mode 4 octal digits (setuid/setgid/sticky included), size only
# for regular files. Walks the tree with debugfs "ls -p", one debugfs run per depth; symlink
# targets come from debugfs "stat" (fast links) or "cat" (long ones).
fs_list() {
	fs=$1
	: >"$WORK/fs_list.entries"
	level=/
	while [ -n "$level" ]; do
		printf '%s\n' "$level" | sed 's/^\(.*\)$/ls -p "\1"/' >"$WORK/fs_list.cmds"
		debugfs -f "$WORK/fs_list.cmds" "$fs" 2>/dev/null | awk '
			/^debugfs: ls -p / { dir = substr($0, 16); gsub(/"/, "", dir); if (dir == "/") dir = ""; next }
			/^\// {
				n = split($0, f, "/")
				name = f[6]; if (name == "." || name == ".." || name == "") next
				print dir "/" name "\t" f[3] "\t" f[4] "\t" f[5] "\t" f[7]
			}' >"$WORK/fs_list.level"
		cat "$WORK/fs_list.level" >>"$WORK/fs_list.entries"
		level=$(awk -F'\t' 'substr($2, 1, 2) == "04" { print $1 }' "$WORK/fs_list.level")
	done
	# Symlink targets, one stat per link.
	awk -F'\t' 'substr($2, 1, 2) == "12" { print "stat \"" $1 "\"" }' "$WORK/fs_list.entries" >"$WORK/fs_list.cmds"
	debugfs -f "$WORK/fs_list.cmds" "$fs" 2>/dev/null | awk '
		/^debugfs: stat / { p = substr($0, 16); gsub(/"/, "", p); next }
		/^Fast link dest: / { t = $0; sub(/^Fast link dest: "/, "", t); sub(/"$/, "", t); print p "\t" t }
	' >"$WORK/fs_list.links"
	awk -F'\t' -v OFS=' ' '
		FILENAME == ARGV[1] { link[$1] = $2; next }
		{
			m = $2; t = substr(m, 1, length(m) - 4); perm = substr(m, length(m) - 3)
			type = t == "04" ? "d" : t == "10" ? "f" : t == "12" ? "l" : t == "02" ? "c" : t == "06" ? "b" : t == "01" ? "p" : "?"
			line = $1 " " type " " perm " " $3 " " $4 " " (type == "f" ? $5 : "-")
			if (type == "l") line = line " " (($1 in link) ? link[$1] : "?long")
			print line
		}' "$WORK/fs_list.links" "$WORK/fs_list.entries" | sort
}

# dir_list DIR: the same listing of a host directory tree (paths from its root).
dir_list() {
	(cd "$1" && find . -mindepth 1 -printf '/%P %y %m %U %G %s %l\n') | awk '
		{ $3 = sprintf("%04d", $3); if ($2 != "f") $6 = "-"; if ($2 != "l") $7 = ""; print }' | sed 's/ $//' | sort
}

# fake_kernel DEBSDIR [KERNEL-BYTES]: a kernel package "linux-image-1.0-test" of made-up
# parts: /boot/vmlinuz-1.0-test (random bytes), real ELF modules with a .modinfo section
# (ext4 -> jbd2 + mbcache, usb-storage -> usbcore + scsi_mod, sd_mod -> scsi_mod, ahci ->
# libahci -> libata -> scsi_mod), virtio_blk built in; and "busybox-static" whose
# /bin/busybox is a static program of our own. Enough for the initrd and bootloader stages,
# not to boot.
fake_kernel() {
	out=$1 kbytes=${2:-300000}
	k=$(mktemp -d "$WORK/kernel.XXXXXX")
	v=1.0-test
	m=$k/lib/modules/$v
	mkdir -p "$k/boot" "$m/kernel/fs/ext4" "$m/kernel/fs/jbd2" "$m/kernel/drivers/usb/storage" \
		"$m/kernel/drivers/usb/core" "$m/kernel/drivers/scsi" "$m/kernel/drivers/ata"
	head -c "$kbytes" /dev/urandom >"$k/boot/vmlinuz-$v"
	printf 'kernel/drivers/block/virtio_blk.ko\n' >"$m/modules.builtin"
	for spec in fs/ext4/ext4:jbd2,mbcache fs/jbd2/jbd2: fs/mbcache: \
		drivers/usb/storage/usb-storage:usbcore,scsi_mod drivers/usb/core/usbcore: \
		drivers/scsi/scsi_mod: drivers/scsi/sd_mod:scsi_mod drivers/ata/ahci:libahci \
		drivers/ata/libahci:libata drivers/ata/libata:scsi_mod; do
		path=${spec%%:*} deps=${spec#*:}
		name=$(basename "$path")
		printf '__attribute__((section(".modinfo"), used)) static const char mi[] = "license=GPL\\0depends=%s\\0name=%s\\0vermagic=%s\\0";\n' \
			"$deps" "$(echo "$name" | tr - _)" "$v" >"$k/mod.c"
		gcc -c -o "$m/kernel/$path.ko" "$k/mod.c"
	done
	rm "$k/mod.c"
	mkdeb "$out" linux-image-$v 1 "$k"
	b=$(mktemp -d "$WORK/busybox.XXXXXX")
	mkdir -p "$b/bin"
	printf '#include <stdio.h>\nint main(void) { puts("fake busybox"); return 0; }\n' >"$b/bb.c"
	gcc -static -O1 -o "$b/bin/busybox" "$b/bb.c"
	rm "$b/bb.c"
	mkdeb "$out" busybox-static 1 "$b"
}

# test_cache: the download cache the network tests share ($MKBOOTMEDIA_TEST_CACHE, default
# /var/cache/mkbootmedia-tests, or ~/.cache/mkbootmedia-tests when that is not writable).
test_cache() {
	c=${MKBOOTMEDIA_TEST_CACHE:-/var/cache/mkbootmedia-tests}
	mkdir -p "$c" 2>/dev/null && [ -w "$c" ] || c=$HOME/.cache/mkbootmedia-tests
	echo "$c"
}

# fake_cryptsetup DEBSDIR: a package "cryptsetup-bin" whose /usr/sbin/cryptsetup is a static
# program of our own (the initrd stage copies it with its libraries: none).
fake_cryptsetup() {
	d=$(mktemp -d "$WORK/cs.XXXXXX")
	mkdir -p "$d/usr/sbin"
	printf 'int main(void) { return 1; }\n' >"$d/cs.c"
	gcc -static -O1 -o "$d/usr/sbin/cryptsetup" "$d/cs.c"
	rm "$d/cs.c"
	mkdeb "$1" cryptsetup-bin 1 "$d"
}

# decrypt_volume FORMAT PASSFILE PARTITION-FILE OUT: the plaintext of an encrypted partition,
# made without our code, root or device-mapper. The volume key comes from the header
# (luksDump --dump-volume-key) or, for plain mode, from cryptsetup's passphrase hashing
# (RIPEMD-160 of the passphrase, then of "A" + passphrase, cut to 256 bits) done here with
# openssl; then cryptsetup reencrypt --decrypt runs on a copy of the data through a
# detached header made for that key (LUKS1 converted to LUKS2 first: its offline
# reencryption would need device-mapper).
decrypt_volume() {
	fmt=$1 pass=$2 part=$3 out=$4
	d=$(mktemp -d "$WORK/dec.XXXXXX")
	case $fmt in
	luks2|luks1)
		cryptsetup luksDump --dump-volume-key --volume-key-file "$d/vk" --key-file "$pass" \
			--batch-mode "$part" >"$d/dump" 2>&1 || { cat "$d/dump"; fail "luksDump --dump-volume-key"; }
		cryptsetup luksDump "$part" >"$d/info"
		off=$(cryptsetup luksDump "$part" | sed -n 's/^\s*offset: \([0-9]*\) \[bytes\]/\1/p' | awk 'NR == 1')
		[ -n "$off" ] || off=$(($(sed -n 's/^Payload offset:\s*//p' "$d/info") * 512))
		cipher=$(sed -n 's/^\s*cipher: //p;s/^Cipher name:\s*\(.*\)/\1/p' "$d/info" | awk 'NR == 1')
		mode=$(sed -n 's/^Cipher mode:\s*//p' "$d/info")
		[ -n "$mode" ] && cipher=$cipher-$mode
		sector=$(sed -n 's/^\s*sector: \([0-9]*\) \[bytes\]/\1/p' "$d/info" | awk 'NR == 1')
		bits=$(($(stat -c %s "$d/vk") * 8))
		;;
	plain)
		p=$(head -n1 "$pass")
		{ printf '%s' "$p" | openssl dgst -ripemd160 -binary -provider legacy -provider default
		  printf 'A%s' "$p" | openssl dgst -ripemd160 -binary -provider legacy -provider default |
			head -c 12; } >"$d/vk"
		off=0 cipher=aes-cbc-essiv:sha256 sector=512 bits=256
		;;
	esac
	dd if="$part" of="$out" bs=1M iflag=skip_bytes skip="$off" status=none
	printf 'x\n' >"$d/p"
	type=luks2
	[ "$fmt" = luks1 ] && type=luks1
	opts="--cipher $cipher --key-size $bits --volume-key-file $d/vk --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file $d/p --batch-mode -q"
	if [ "$type" = luks2 ]; then
		cryptsetup luksFormat --type luks2 --sector-size "${sector:-512}" $opts --header "$d/hdr" "$out" || fail "luksFormat (detached)"
	else
		cryptsetup luksFormat --type luks1 $opts --header "$d/hdr" "$out" || fail "luksFormat (detached)"
		cryptsetup convert --type luks2 --header "$d/hdr" --batch-mode -q "$d/hdr" 2>/dev/null || fail "convert"
	fi
	cryptsetup reencrypt --decrypt --header "$d/hdr" --disable-locks --force-offline-reencrypt \
		--key-file "$d/p" --batch-mode -q "$out" || fail "reencrypt --decrypt"
	rm -rf "$d"
}

# zero_sectors FILE: how many of its 512-byte sectors are all zeros (a small C program: od
# is too slow for tens of MiB).
zero_sectors() {
	if [ ! -x "$WORK/zero-sectors" ]; then
		cat >"$WORK/zero-sectors.c" <<'C'
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
	static const char zero[512];
	char buf[512];
	unsigned long n = 0;
	FILE *f = fopen(argv[1], "rb");

	while (f && fread(buf, 1, 512, f) == 512)
		n += !memcmp(buf, zero, 512);
	printf("%lu\n", n);
	return !f;
}
C
		gcc -O2 -o "$WORK/zero-sectors" "$WORK/zero-sectors.c"
	fi
	"$WORK/zero-sectors" "$1"
}

# flat_repo CACHE LISTFILE DIR: the cached .debs of the packages named in LISTFILE (one per
# line) as a flat repository in DIR, for mmdebstrap to install exactly what mkbootmedia
# installed without downloading it again: "deb [trusted=yes] copy://DIR ./".
flat_repo() {
	mkdir -p "$3"
	for f in "$1"/sha256/*; do
		name=$(dpkg-deb -f "$f" Package 2>/dev/null) || continue
		version=$(dpkg-deb -f "$f" Version)
		# a line "NAME" takes every cached version; "NAME VERSION" only that one
		grep -qxF -e "$name" -e "$name $version" "$2" || continue
		cp "$f" "$3/${name}_$(tr : + <<<"$version")_$(dpkg-deb -f "$f" Architecture).deb"
	done
	(cd "$3" && dpkg-scanpackages -m . 2>/dev/null >Packages)
}
