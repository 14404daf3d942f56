# mkbootmedia diff of two images whose recipes differ in one file's content names that file
# and nothing else (cmp confirms they differ, debugfs that the file does); of the same bytes
# it prints nothing and exits 0. A byte changed in free space (dd) is an unexplained range,
# named as free space; a name removed by debugfs is "only in" one image; a different size
# is reported. Bad arguments: one message, exit status 2.
cp "$CASE/recipe.yml" .
mkbm recipe.yml -D motd=alpha -o out/a.img || { cat "$WORK/stderr"; fail "build a"; }
mkbm recipe.yml -D motd=omega -o out/b.img || { cat "$WORK/stderr"; fail "build b"; }
mkbm recipe.yml -D motd=alpha -o out/c.img || { cat "$WORK/stderr"; fail "build c"; }
cmp -s out/a.img out/b.img && fail "the two images are the same"
part_extract out/a.img 2 a.fs
part_extract out/b.img 2 b.fs
expect_eq "$(cat_file a.fs /etc/motd)" alpha "a's motd"
expect_eq "$(cat_file b.fs /etc/motd)" omega "b's motd"

rc=0
"$MKBOOTMEDIA" diff out/a.img out/b.img >d.txt 2>d.err || rc=$?
expect_eq "$rc" 1 "exit status of diff of different images"
[ ! -s d.err ] || fail "diff wrote errors: $(cat d.err)"
expect_eq "$(wc -l <d.txt)" 1 "lines of the diff: $(cat d.txt)"
expect_match "$(cat d.txt)" '^partition 2: /etc/motd: contents differ' "the diff"

cmp out/a.img out/c.img || fail "two builds differ"
rc=0
"$MKBOOTMEDIA" diff out/a.img out/c.img >same.txt || rc=$?
expect_eq "$rc" 0 "exit status of diff of the same bytes"
[ ! -s same.txt ] || fail "diff of the same bytes printed: $(cat same.txt)"

# A byte in free space: not explained by any file.
cp --sparse=always out/c.img poked.img
start=$(part_field poked.img 2 start)
free=$(dumpe2fs a.fs 2>/dev/null | sed -n 's/^  Free blocks: \([0-9]*\)-.*/\1/p' | tail -1)
[ -n "$free" ] || fail "no free block range in dumpe2fs"
bs=$(sb_field a.fs 'Block size')
printf 'X' | dd of=poked.img bs=1 seek=$((start * 512 + free * bs + 100)) conv=notrunc status=none
rc=0
"$MKBOOTMEDIA" diff out/a.img poked.img >poked.txt || rc=$?
expect_eq "$rc" 1 "exit status with a poked byte"
expect_eq "$(wc -l <poked.txt)" 1 "lines: $(cat poked.txt)"
expect_match "$(cat poked.txt)" "^bytes [0-9]+-[0-9]+ \(1 differ\): partition 2, block $free, free space$" \
	"the poked byte"

# A name removed: only in the first image.
cp --sparse=always out/c.img removed.img
part_extract removed.img 2 r.fs
debugfs -w -R "rm /etc/same" r.fs >/dev/null 2>&1
dd if=r.fs of=removed.img bs=512 seek="$start" conv=notrunc,sparse status=none
"$MKBOOTMEDIA" diff out/a.img removed.img >removed.txt || true
grep -q '^partition 2: /etc/same: only in out/a.img (file)$' removed.txt ||
	fail "the removed file: $(cat removed.txt)"

rc=0
"$MKBOOTMEDIA" diff out/a.img 2>err.txt || rc=$?
expect_eq "$rc" 2 "exit status with one image"
grep -q "expected two images" err.txt || fail "message: $(cat err.txt)"
rc=0
"$MKBOOTMEDIA" diff out/a.img nosuch.img 2>err.txt || rc=$?
expect_eq "$rc" 2 "exit status with a missing image"
expect_eq "$(cat err.txt)" "error: cannot open 'nosuch.img': No such file or directory" "message"
rc=0
"$MKBOOTMEDIA" diff --frobnicate out/a.img out/c.img 2>err.txt || rc=$?
expect_eq "$rc" 2 "exit status with an unknown option"
expect_eq "$(grep -c '^error: ' err.txt)" 1 "messages: $(cat err.txt)"
grep -q "unknown option '--frobnicate'" err.txt || fail "message: $(cat err.txt)"
