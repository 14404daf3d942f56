# Error paths free what they allocated: `check` of recipes that fail in the files stage's
# parsing, or at a bad variable name after good ones (found by fuzz-recipe), under valgrind,
# loses no memory.
command -v valgrind >/dev/null || fail "valgrind is missing (tools/install-deps installs it)"
mkdir -p overlay
printf 'x\n' >src
for body in "overlays: [overlay, no/such/dir]" \
	"files: [{path: /a, source: src}, {path: /b, source: no-such-file}]" \
	"variables: {label: X, bad\$name: 1}"; do
	cat >recipe.yml <<YAML
image: {size: 64MiB}
partitions: [{name: root, size: rest, filesystem: {type: ext2, mount: /}}]
$body
YAML
	set +e
	valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
		--show-leak-kinds=definite --error-exitcode=99 "$MKBOOTMEDIA" check recipe.yml \
		>/dev/null 2>vg.txt
	rc=$?
	set -e
	[ $rc -ne 99 ] || { cat vg.txt; fail "valgrind finds a leak with: $body"; }
	expect_eq $rc 1 "check fails ($body)"
done
