# Nothing deleted survives: run: steps make files, directories, a rename and a file removed
# while open, with names and contents that are in no recipe, on an ext4 root and an ext2
# /boot, and remove them all. grep -a of the whole image finds none of their names or
# contents, while it finds the file a step kept (the search works); no directory holds a
# deleted entry (debugfs ls -d); e2fsck -fn is clean; a second build is byte-identical.
cache=$(test_cache)
mkbm --cache "$cache" "$CASE/recipe.yml" -o out/a.img || { cat "$WORK/stderr"; fail "build"; }
grep -q -a "kept-ZQX-content" out/a.img || fail "the kept file's content is not found"
grep -q -a "kept-ZQX-name" out/a.img || fail "the kept file's name is not found"
hits=$(grep -a -o "gone-ZQX-[a-z]*" out/a.img | sort | uniq -c || true)
[ -z "$hits" ] || fail "removed names or contents in the image: $hits"
part_extract out/a.img 1 boot.fs
part_extract out/a.img 2 root.fs
fsck_clean boot.fs
fsck_clean root.fs
for fs in boot.fs root.fs; do
	for d in / /root /tmp; do
		left=$(dbg $fs "ls -d $d" | grep -o '<[0-9]*> *([0-9]*) [^ ]*' || true)
		[ -z "$left" ] || fail "$fs:$d: deleted entries: $left"
	done
done
mkbm --cache "$cache" "$CASE/recipe.yml" -o out/b.img || { cat "$WORK/stderr"; fail "build b"; }
if ! cmp out/a.img out/b.img; then
	"$MKBOOTMEDIA" diff out/a.img out/b.img | head -60 >&2 || true
	fail "two builds differ"
fi
