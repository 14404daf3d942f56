# --lock writes the exact inputs; --locked --offline builds the same bytes from them (cmp).
# The lock is checked with independent tools: each package's SHA-256 is sha256sum's of the
# cached .deb, and its names and versions are what dpkg's status in the image says. A lock
# whose package hash was changed, one naming a package nowhere, one made with another
# SOURCE_DATE_EPOCH, a local .deb changed since, and a file that is no lock each fail with
# one message and leave no image (offline, and for the missing package also from the
# mirror: the network, as the other mirror tests).
cache=$(test_cache)
mkdir -p debs pkg/usr/share/lock-local
echo "locked content" >pkg/usr/share/lock-local/file
mkdeb debs lock-local 1.0 pkg
cp "$CASE/recipe.yml" .
mkbm --offline --cache "$cache" recipe.yml -o out/a.img --lock a.lock ||
	{ cat "$WORK/stderr"; fail "build with --lock"; }
[ -s a.lock ] || fail "no lock written"
ls -A | grep -q '^a\.lock\.' && fail "a temporary lock is left"
grep -q "^source-date-epoch $SOURCE_DATE_EPOCH$" a.lock || fail "no SOURCE_DATE_EPOCH in the lock"
grep -q "^seed lock-rebuild$" a.lock || fail "no seed in the lock"
grep -Eq "^suite 0 http://deb.debian.org/debian bookworm [0-9a-f]{64} [A-Z][a-z]{2}, " a.lock ||
	fail "no suite line with a Release hash and date: $(grep '^suite' a.lock)"
# Every mirror package's hash is the cached file's, as sha256sum computes it.
while read -r kind name version arch sha size src file; do
	[ "$kind" = package ] || continue
	f=$cache/sha256/$sha
	[ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$sha" ] || fail "$name: hash of $f"
	[ "$(stat -c %s "$f")" = "$size" ] || fail "$name: size"
done <a.lock
grep -q "^local lock-local 1.0 all $(sha256sum <debs/lock-local_1.0_all.deb | cut -d' ' -f1) " a.lock ||
	fail "the local .deb's line: $(grep '^local' a.lock)"
part_extract out/a.img 1 root.fs
cat_file root.fs /var/lib/dpkg/status |
	awk '/^Package:/ { p = $2 } /^Version:/ { print p, $2 }' | sort >status.list
awk '$1 == "package" || $1 == "local" { print $2, $3 }' a.lock | sort >lock.list
diff lock.list status.list || fail "the lock's packages are not the image's"
[ "$(wc -l <lock.list)" -gt 20 ] || fail "packages in the lock: $(wc -l <lock.list)"

mkbm --offline --cache "$cache" recipe.yml -o out/b.img --locked a.lock ||
	{ cat "$WORK/stderr"; fail "build with --locked"; }
cmp out/a.img out/b.img || fail "the --locked build differs"
rm -f out/b.img out/b.img.bmap
mv out/a.img a.img
rm -f out/a.img.bmap

# A changed hash, as a tampered lock (or a mirror that changed the file) would have.
sed 's/^\(package dash [^ ]* [^ ]* \)[0-9a-f]/\10/; s/^\(package dash [^ ]* [^ ]* \)0\(.\)/\1f\2/' \
	a.lock >tampered.lock
cmp -s a.lock tampered.lock && fail "the tampered lock is the same"
expect_fail "dash_0.5.12-2_amd64.deb' is not in the cache" --offline --cache "$cache" \
	recipe.yml -o out/c.img --locked tampered.lock
# A package that exists nowhere.
{ cat a.lock; echo "package nosuch 1.0 amd64 $(printf '%064d' 0) 1000 0 pool/main/n/nosuch/nosuch_1.0_amd64.deb"; } >missing.lock
expect_fail "nosuch_1.0_amd64.deb' is not in the cache" --offline --cache "$cache" \
	recipe.yml -o out/c.img --locked missing.lock
# Online: the mirror no longer has it.
expect_fail "cannot download 'http://deb.debian.org/debian/pool/main/n/nosuch/nosuch_1.0_amd64.deb'" \
	--cache "$cache" recipe.yml -o out/c.img --locked missing.lock
SOURCE_DATE_EPOCH=1600000000 expect_fail "was made with SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH" \
	--offline --cache "$cache" recipe.yml -o out/c.img --locked a.lock
echo "not a lock" >bad.lock
expect_fail "bad.lock:1: not a line of a lock file" --offline --cache "$cache" recipe.yml \
	-o out/c.img --locked bad.lock
# The local .deb rebuilt with other content is not the locked one.
echo "changed content" >pkg/usr/share/lock-local/file
mkdeb debs lock-local 1.0 pkg
expect_fail "it is not the file that was locked" --offline --cache "$cache" recipe.yml \
	-o out/c.img --locked a.lock
# --lock needs a build that writes; a build that fails after the packages leaves no lock.
expect_fail "--lock is written by a build" check recipe.yml --lock x.lock
{ cat recipe.yml; printf 'run:\n  - {name: boom, command: "exit 3"}\n'; } >failing.yml
expect_fail "failed with exit status 3" --offline --cache "$cache" failing.yml -o out/c.img \
	--lock fail.lock
[ -z "$(ls -A | grep '^fail\.lock')" ] || fail "a failed build left its lock: $(ls -A)"
