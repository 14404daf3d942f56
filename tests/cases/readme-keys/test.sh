# The README's recipe key tables are the ones the stages declare (`mkbootmedia doc markdown
# STAGE`, from each stage's key table): tools/readme-keys finds no difference, and finds one
# when a row of the README is changed.
top=$(dirname "$MKBOOTMEDIA")
out=$("$top/tools/readme-keys" "$MKBOOTMEDIA" "$top/README.md") || fail "$out"
sed 's/^| `image.table` | `msdos` |/| `image.table` | `gpt` |/' "$top/README.md" >README.md
cmp -s README.md "$top/README.md" && fail "the sed changed nothing"
if out=$("$top/tools/readme-keys" "$MKBOOTMEDIA" README.md); then
	fail "a changed row was not found"
fi
expect_match "$out" "the keys of 'image' differ" "readme-keys on a changed row"
