# Two builds side by side sharing one empty download cache (both fetching from the mirror at
# once) succeed and give the same bytes as a build from the warm test cache (cmp). Needs the
# network, as the other mirror tests.
cache=$(test_cache)
recipe=$CASE/../reproducible-deleted/recipe.yml
mkdir fresh
"$MKBOOTMEDIA" -q --cache "$WORK/fresh" "$recipe" -o out/a.img 2>a.err &
pid=$!
mkbm --cache "$WORK/fresh" "$recipe" -o out/b.img || { cat "$WORK/stderr"; fail "build b"; }
wait "$pid" || { cat a.err; fail "build a"; }
[ -n "$(ls fresh/sha256)" ] || fail "nothing was downloaded into the fresh cache"
mkbm --offline --cache "$cache" "$recipe" -o out/c.img || { cat "$WORK/stderr"; fail "build c"; }
for x in b c; do
	if ! cmp out/a.img out/$x.img; then
		"$MKBOOTMEDIA" diff out/a.img out/$x.img | head -60 >&2 || true
		fail "a.img and $x.img differ"
	fi
done
