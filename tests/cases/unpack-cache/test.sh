# The unpack cache (lib/deb-cache.h): a package whose data member has 4 MiB or more is
# decoded once and kept in CACHE/unpack, zstd-compressed behind a 64-byte header holding an
# HMAC; later builds read that instead of decoding the xz. Checked with tools we did not
# write: the payload is a zstd stream (zstd -t) holding the .deb's data.tar (ar and xz);
# builds from the cache, with a fresh cache and with --no-unpack-cache are the same bytes
# (cmp). A payload changed by one byte, or another package's payload put under its name,
# fails its check: said, removed, decoded and stored again, and the image is the same.
# --no-unpack-cache neither reads nor writes the cache; a small package is not cached.
mkdir -p debs big/usr/share/big big2/usr/share/big2 small/usr/share/small
head -c $((5 << 20)) /dev/urandom >big/usr/share/big/blob
head -c $((5 << 20)) /dev/urandom >big2/usr/share/big2/blob
printf 's\n' >small/usr/share/small/file
mkdeb debs big 1.0 big "Priority: optional"
mkdeb debs big2 1.0 big2 "Priority: optional"
mkdeb debs small 1.0 small "Priority: optional"
"$CASE/../../mkrepo" repo gnupg testing main amd64 debs/*.deb >/dev/null 2>&1 || fail "mkrepo"
cat >recipe.yml <<YAML
image: {size: 48MiB, seed: unpack-cache}
partitions:
  - {name: root, size: rest, filesystem: {type: ext4, mount: /}}
fstab: false
flash: false
packages:
  suite: testing
  mirror: file://$WORK/repo
  keyring: gnupg/keyring.gpg
  variant: none
  include: [big, big2, small]
YAML
sha() { sha256sum <"debs/$1_1.0_all.deb" | cut -d' ' -f1; }
big=$(sha big) big2=$(sha big2)
# payload_is PKG: the cached payload of PKG is a zstd stream of its data.tar
payload_is() {
	p=cache/unpack/$(sha "$1").zst
	[ -f "$p" ] || fail "$1: no payload in the cache"
	tail -c +65 "$p" | zstd -qt || fail "$1: the payload is not a zstd stream"
	cmp <(tail -c +65 "$p" | zstd -qdc) <(ar p "debs/$1_1.0_all.deb" data.tar.xz | xz -dc) ||
		fail "$1: the payload is not its data.tar"
}

mkbm --cache cache recipe.yml -o out/a.img || { cat "$WORK/stderr"; fail "first build"; }
payload_is big
payload_is big2
expect_eq "$(ls cache/unpack | sort | paste -sd' ')" \
	"$(printf '%s\n' "$big.zst" "$big2.zst" key | sort | paste -sd' ')" "the cache's files"
expect_eq "$(stat -c %a cache/unpack/key)" 600 "the key's mode"
mkbm -v --cache cache recipe.yml -o out/b.img || { cat "$WORK/stderr"; fail "build from the cache"; }
grep -q "unpack cache '.*': 2 read, 0 stored" "$WORK/stderr" ||
	{ grep unpack "$WORK/stderr"; fail "the second build did not read the cache"; }
cmp out/a.img out/b.img || fail "the build from the cache differs"
mkbm --no-unpack-cache --cache cache2 recipe.yml -o out/c.img || { cat "$WORK/stderr"; fail "--no-unpack-cache"; }
[ ! -e cache2/unpack ] || fail "--no-unpack-cache wrote the cache"
cmp out/a.img out/c.img || fail "the build without the cache differs"

# A byte changed, and another package's payload under big's name.
printf 'X' | dd of="cache/unpack/$big.zst" bs=1 seek=100 conv=notrunc status=none
cp "cache/unpack/$big2.zst" "cache/unpack/$big2.zst.orig"
mkbm -v --cache cache recipe.yml -o out/d.img || { cat "$WORK/stderr"; fail "build with a damaged payload"; }
grep -q "^warning: packages: 1 decoded packages in the unpack cache '.*' failed their check" \
	"$WORK/stderr" || { grep -i unpack "$WORK/stderr"; fail "the damaged payload was not said"; }
cmp out/a.img out/d.img || fail "the build with a damaged payload differs"
payload_is big
cp "cache/unpack/$big2.zst" "cache/unpack/$big.zst"
mkbm --cache cache recipe.yml -o out/e.img || { cat "$WORK/stderr"; fail "build with a swapped payload"; }
grep -q "failed their check and were removed" "$WORK/stderr" || fail "the swapped payload was not said"
cmp out/a.img out/e.img || fail "the build with a swapped payload differs"
payload_is big
cmp "cache/unpack/$big2.zst" "cache/unpack/$big2.zst.orig" || fail "big2's payload changed"
