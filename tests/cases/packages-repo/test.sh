# A signed file:// repository (made by tests/mkrepo with a key it generates): resolution
# with alternatives, Provides and versions, `check` listing the set, the download cache and
# --offline, and the refusals: a .deb changed after signing, a forged InRelease, a wrong
# keyring, an unsatisfiable dependency named by its chain.
mkdir -p debs a/usr/share/a b/usr/share/b c/usr/share/c x/usr/share/x
printf 'a\n' >a/usr/share/a/file
printf 'b\n' >b/usr/share/b/file
printf 'c\n' >c/usr/share/c/file
printf 'x\n' >x/usr/share/x/file
mkdeb debs app 1.0 a "Depends: libfoo (>= 2) | libbar, tool-virtual" "Priority: optional"
mkdeb debs libfoo 1.5 b "Priority: optional"
mkdeb debs libbar 3.0 c "Provides: tool-virtual" "Priority: optional"
mkdeb debs broken 1.0 x "Depends: app, libmissing (>= 2)" "Priority: optional"
"$CASE/../../mkrepo" repo gnupg testing main amd64 debs/*.deb >/dev/null 2>&1 || fail "mkrepo"

cat >recipe.yml <<YAML
image: {size: 32MiB, seed: repo}
partitions:
  - {name: root, size: rest, filesystem: {type: ext2, mount: /}}
fstab: false
flash: false
packages:
  suite: testing
  mirror: file://$WORK/repo
  keyring: gnupg/keyring.gpg
  variant: none
  include: [app]
YAML
# libfoo 1.5 does not satisfy (>= 2): libbar is chosen, and provides tool-virtual too.
"$MKBOOTMEDIA" check --cache cache recipe.yml >plan.txt 2>"$WORK/stderr" || { cat "$WORK/stderr"; fail "check"; }
expect_eq "$(sed -n '/^packages:/,/^[a-z]/p' plan.txt | awk '/^  / {print $1 "=" $2}' | tr '\n' ' ')" "app=1.0 libbar=3.0 " "resolved set"
mkbm --cache cache recipe.yml -o out/r.img || { cat "$WORK/stderr"; fail "build"; }
part_extract out/r.img 1 root.fs
fsck_clean root.fs
expect_eq "$(cat_file root.fs /usr/share/c/file)" c "libbar unpacked"
expect_eq "$(cat_file root.fs /var/lib/dpkg/status | sed -n 's/^Package: //p' | tr '\n' ' ')" "app libbar " "status"
ls cache/sha256 | grep >/dev/null -c . || fail "nothing cached"

# Offline: from the cache, then with an empty cache.
rm out/r.img out/r.img.bmap
mkbm --offline --cache cache recipe.yml -o out/r.img || { cat "$WORK/stderr"; fail "offline build from the cache"; }
cmp <(part_extract out/r.img 1 /dev/stdout) root.fs || fail "offline build differs"
rm out/r.img out/r.img.bmap
expect_fail "is not in the cache" --offline --cache empty-cache recipe.yml -o out/r.img

# The decompressed index is cached under the SHA-256 the signed Release gives for the
# uncompressed Packages, and later runs read it instead of decompressing the .xz: with the
# .xz gone from the cache, an offline check still resolves the same set. A corrupted cached
# index is removed with a warning and made again from the .xz.
idx=repo/dists/testing/main/binary-amd64
plain=$(sha256sum <$idx/Packages | cut -d' ' -f1)
xzh=$(sha256sum <$idx/Packages.xz | cut -d' ' -f1)
grep -q "$plain .* main/binary-amd64/Packages$" repo/dists/testing/InRelease || fail "Release: no Packages"
cmp cache/sha256/"$plain" $idx/Packages || fail "the decompressed index is not cached"
mv cache/sha256/"$xzh" xz.saved
"$MKBOOTMEDIA" check --offline --cache cache recipe.yml >plan2.txt 2>"$WORK/stderr" ||
	{ cat "$WORK/stderr"; fail "check from the cached index, without the .xz"; }
cmp plan.txt plan2.txt || fail "the plan from the cached index differs"
printf 'X' | dd of=cache/sha256/"$plain" bs=1 seek=10 conv=notrunc status=none
mv xz.saved cache/sha256/"$xzh"
"$MKBOOTMEDIA" check --offline --cache cache recipe.yml >plan3.txt 2>"$WORK/stderr" ||
	{ cat "$WORK/stderr"; fail "check with a corrupt cached index"; }
grep -q "cached file 'cache/sha256/$plain' was corrupt" "$WORK/stderr" ||
	{ cat "$WORK/stderr"; fail "the corrupt index was not said"; }
cmp plan.txt plan3.txt || fail "the plan with a corrupt cached index differs"
cmp cache/sha256/"$plain" $idx/Packages || fail "the index was not cached again"

# An unsatisfiable dependency names its chain.
sed 's/include: \[app\]/include: [broken]/' recipe.yml >broken.yml
expect_fail "broken -> libmissing (>= 2): no candidate" --cache cache broken.yml -o out/r.img

# An unknown include is named at its place in the recipe.
sed 's/include: \[app\]/include: [app, nosuch]/' recipe.yml >unknown.yml
expect_fail "unknown.yml:11:18: packages.include[1]: no package 'nosuch' in the package lists" \
	--cache cache unknown.yml -o out/r.img

# A .deb replaced after the index was signed: refused, and not unpacked.
cp -r repo repo-orig
deb=$(ls repo/pool/main/libbar_*.deb)
printf 'X' | dd of="$deb" bs=1 seek=200 conv=notrunc status=none # same size, other bytes
expect_fail "libbar_3.0_all.deb': SHA256 mismatch" --cache cache2 recipe.yml -o out/r.img

# A forged InRelease (content changed after signing).
rm -rf repo && cp -r repo-orig repo
sed -i 's/^Suite: testing/Suite: testinG/' repo/dists/testing/InRelease
expect_fail "bad signature" --cache cache3 recipe.yml -o out/r.img

# A keyring with another key.
rm -rf repo && cp -r repo-orig repo
"$CASE/../../mkrepo" other-repo other-gnupg testing main amd64 debs/app_1.0_all.deb >/dev/null 2>&1
sed 's|keyring: gnupg/keyring.gpg|keyring: other-gnupg/keyring.gpg|' recipe.yml >otherkey.yml
expect_fail "not in the keyring" --cache cache4 otherkey.yml -o out/r.img
