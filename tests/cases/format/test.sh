# tools/check-format: first on a scratch repository, where it must accept an untouched
# misformatted line, refuse a misformatted changed one and accept it once clang-format has
# fixed it; then on this tree, for the lines changed since where the branch left main (or
# by the last commit on main), when git history is there to compare with.
top=$(cd "$CASE/../../.." && pwd)
check="$top/tools/check-format"
command -v clang-format > /dev/null || fail "clang-format is missing (tools/install-deps)"

mkdir repo && cd repo
git init -q -b main .
git config user.email test@example.invalid && git config user.name test
cp "$top/.clang-format" .
cat > a.c <<'C'
int old_style(int a,int b){return a+b;}

static int sum(int a, int b)
{
	return a + b;
}
C
git add . && git commit -q -m base
# A changed line, formatted; the old misformatted line is not touched.
sed -i 's/return a + b;/return a + b + 1;/' a.c
out=$("$check" HEAD 2>&1) || fail "a formatted change refused: $out"
# A misformatted changed line (no spaces, a brace on the same line) and a new file.
cat >> a.c <<'C'

static int twice(int x){
  return x*2;
}
C
printf 'int  new_file (void) { return 0; }\n' > b.c
git add b.c
rc=0
out=$("$check" HEAD 2>&1) || rc=$?
expect_eq "$rc" 1 "check-format on misformatted changes"
expect_match "$out" '^\+static int twice\(int x\)$' "the fix for a.c"
expect_match "$out" '^\+	return x \* 2;$' "the fix for a.c"
expect_match "$out" '^\+int new_file\(void\)$' "the fix for b.c"
printf '%s\n' "$out" | grep -q 'old_style' && fail "an untouched line was checked: $out"
# Committed, the change is still checked against the base given, and the tool's own
# suggestion fixes it.
git add a.c && git commit -q -m change
rc=0
"$check" HEAD~1 > /dev/null 2>&1 || rc=$?
expect_eq "$rc" 1 "check-format on a committed misformatted change"
git clang-format -q HEAD~1 > /dev/null 2>&1 || true
out=$("$check" HEAD~1 2>&1) || fail "still refused after git clang-format: $out"
grep -q 'int old_style(int a,int b){return a+b;}' a.c || fail "the untouched line was reformatted"
cd ..

# This tree's own changes.
if ! git -C "$top" rev-parse -q --verify 'HEAD~1^{commit}' > /dev/null 2>&1; then
	echo "no git history in $top: only the self-check ran"
else
	(cd "$top" && tools/check-format) || fail "tools/check-format: lines changed are not formatted"
fi
