# One directory of 40,000 names costs about what 40,000 names in 400 directories cost (each
# name used to be looked up and linked by reading its directory from the start: 88 s against
# 1.3 s). Overlays write every name twice (the second pass replaces each file), a .deb ships
# the same 40,000 empty files. Timed against each other, never against a clock; checked with
# e2fsck and debugfs.
n=40000
mkdir -p one/big spread debs
(cd one/big && seq -f 'file-with-a-longer-name-%06g' 1 $n | xargs touch)
(cd spread && seq 1 400 | sed 's/^/d/' | xargs mkdir &&
	seq 1 $n | awk '{ printf "d%d/file-with-a-longer-name-%06d\n", $1 % 400 + 1, $1 }' |
	xargs touch)
for layout in one spread; do
	{
		echo '#mtree'
		(cd $layout && find . -mindepth 1 -printf '%p %y\n' | sort) | awk -v t="$SOURCE_DATE_EPOCH" '
			$2 == "d" { print $1, "type=dir mode=0755 uid=0 gid=0 time=" t ".0" }
			$2 == "f" { print $1, "type=file mode=0644 uid=0 gid=0 size=0 time=" t ".0" }'
	} >$layout.mtree
	bsdtar --format=gnutar -cf $layout.tar @$layout.mtree
	mkdir -p debs/$layout
	mkdeb_tar debs/$layout/many_1_all.deb many 1 $layout.tar
	cat >$layout.yml <<YAML
image: {size: 256MiB, seed: big}
partitions:
  - {name: root, size: rest, filesystem: {type: ext4, label: R, mount: /, inodes: 100000}}
fstab: false
flash: false
packages: {mirror: none, variant: none, include: [many], debs: [debs/$layout]}
overlays:
  - {source: $layout, target: /ovl}
  - {source: $layout, target: /ovl}
YAML
done

# Milliseconds a build takes, the best of two (the machine may be busy).
build_ms() {
	best=
	for i in 1 2; do
		start=$(date +%s%N)
		mkbm "$1.yml" -o "out/$1.img" || { cat "$WORK/stderr" >&2; fail "build of $1"; }
		ms=$((($(date +%s%N) - start) / 1000000))
		[ -z "$best" ] || [ "$ms" -lt "$best" ] && best=$ms
	done
	echo "$best"
}
spread_ms=$(build_ms spread)
one_ms=$(build_ms one)
echo "one directory: ${one_ms} ms, 400 directories: ${spread_ms} ms"
[ "$one_ms" -le $((3 * spread_ms + 1000)) ] ||
	fail "one directory of $n names took ${one_ms} ms, more than 3x ${spread_ms} ms"

part_extract out/one.img 1 one.fs
fsck_clean one.fs
# debugfs lists a removed name that opened a block too (inode 0): live names only.
live() {
	dbg one.fs "ls -p $1" | awk -F/ '$6 != "" && $2 != 0 && $6 != "." && $6 != ".." { print $6 }' | sort
}
for d in /big /ovl/big; do
	live $d >names
	expect_eq "$(wc -l <names)" $n "names in $d"
	expect_eq "$(uniq -d names | head -n 3)" "" "names listed twice in $d"
done
expect_eq "$(cat_file one.fs /var/lib/dpkg/info/many.list | grep -c /big/file-)" $n \
	"files in the package's list"
expect_eq "$(stat_field one.fs /ovl/big/file-with-a-longer-name-000077)" "0644 0 0 regular" \
	"a file the second overlay replaced"
