# Configured builds are bit-identical: examples/debian-minbase.yml (its packages configured in a
# user namespace) built twice side by side, sharing the download cache, with -j 1 and -j 2,
# gives the same bytes (cmp); on a difference, `mkbootmedia diff` says where. Another
# SOURCE_DATE_EPOCH gives other bytes (the comparison can fail). What the maintainer scripts
# create and remove leaves nothing: no directory holds a deleted entry (debugfs ls -d, which
# shows one after debugfs rm), and dpkg's and update-alternatives' logs, which the build
# removes, are nowhere in the image (grep -a).
top=$(cd "$CASE/../../.." && pwd)
cache=$(test_cache)
recipe=$top/examples/debian-minbase.yml
"$MKBOOTMEDIA" -q -j 1 --cache "$cache" "$recipe" -o out/a.img 2>a.err &
pid=$!
mkbm -j 2 --cache "$cache" "$recipe" -o out/b.img || { cat "$WORK/stderr"; fail "build b"; }
wait "$pid" || { cat a.err; fail "build a"; }
if ! cmp out/a.img out/b.img; then
	"$MKBOOTMEDIA" diff out/a.img out/b.img | head -60 >&2 || true
	fail "two configured builds differ"
fi
SOURCE_DATE_EPOCH=1700000001 mkbm -j 2 --cache "$cache" "$recipe" -o out/c.img ||
	{ cat "$WORK/stderr"; fail "build c"; }
cmp -s out/a.img out/c.img && fail "another SOURCE_DATE_EPOCH gave the same bytes"
rm -f out/b.img out/c.img

part_extract out/a.img 2 root.fs
fsck_clean root.fs
# One pass over the image: what must be there (the search works) and what must not.
grep -a -o -E "^Status: install ok installed|startup packages configure|update-alternatives 20|status installed " \
	out/a.img | sort | uniq -c >found.txt || true
grep -q "Status: install ok installed" found.txt || fail "no configured package in the image"
! grep -v "Status: install ok installed" found.txt || fail "a removed log's lines are in the image"

mkdir tree
debugfs -R "rdump / $WORK/tree" root.fs >/dev/null 2>&1
(cd tree && find . -type d ! -path ./lost+found) | sed 's|^\.||; s|^$|/|; s|^|ls -d |' >ls.cmds
[ "$(wc -l <ls.cmds)" -gt 300 ] || fail "directories: $(wc -l <ls.cmds)"
deleted() {
	debugfs -f ls.cmds "$1" 2>/dev/null | grep -o '<[0-9]*> *([0-9]*) [^ ]*' || true
}
left=$(deleted root.fs)
[ -z "$left" ] || fail "deleted entries left in directories: $left"
# The check sees a name debugfs removes (it leaves the bytes, as ext2fs_unlink does).
mkdir -p small/etc && echo x >small/etc/hostname && echo y >small/etc/other
mke2fs -q -F -t ext2 -d small neg.fs 4M
debugfs -w -R "rm /etc/hostname" neg.fs >/dev/null 2>&1
echo "ls -d /etc" >ls.cmds
deleted neg.fs | grep -q hostname || fail "the deleted-entry check does not see a removed name"
