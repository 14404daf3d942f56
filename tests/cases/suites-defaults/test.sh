# Suite defaults, on Debian's real mirror (indices cached in the test cache):
# - no suite: trixie, with trixie-updates and trixie-security (from debian-security), each
#   verified; the kernel comes from trixie-security when it has a newer one; extra-suites: []
#   reads trixie alone (the negative: its kernel is then the older one of trixie);
# - testing gets testing-updates and testing-security, sid neither; both resolve (check),
#   and sid unpacks (a tiny set). The mirror reachable from the test machines serves testing
#   and sid past their Valid-Until (frozen on 2026-10-30): when it does, the recipes say
#   check-valid-until: false, and the build without it must refuse them;
# - the image's apt sources: deb822 debian.sources for trixie and sid, read back by apt
#   itself (apt-get indextargets on the extracted file), sources.list for bookworm.
cache=$(test_cache)

# recipe FILE SUITE-LINE EXTRA-LINE INCLUDE
recipe() {
	cat >"$1" <<YAML
image: {size: 256MiB, table: msdos, seed: suites}
partitions:
  - {name: root, size: rest, filesystem: {type: ext2, label: R, mount: /}}
fstab: false
flash: false
packages:
$2
$3
  variant: none
  include: [$4]
  configure: none
YAML
}

# kernel PLAN: the linux-image-6.* package's "name version".
kernel() {
	awk '$1 ~ /^linux-image-[0-9]/ { print $1, $2 }' "$1"
}

# 1. trixie by default, with its updates and security suites.
recipe d.yml "" "" linux-image-amd64
mkbm --cache "$cache" check d.yml >plan.txt || { cat "$WORK/stderr"; fail "check (default suite)"; }
for s in "trixie (amd64; main)" "trixie-updates (amd64; main)" "trixie-security (amd64; main)"; do
	grep -qF "packages: $s" "$WORK/stderr" || fail "no '$s' read: $(cat "$WORK/stderr")"
done
grep -q '^packages: .* from http://deb.debian.org/debian trixie ' plan.txt || fail "not trixie: $(grep ^packages plan.txt)"
recipe e.yml "" "  extra-suites: []" linux-image-amd64
mkbm --cache "$cache" check e.yml >plan-e.txt || { cat "$WORK/stderr"; fail "check (extra-suites: [])"; }
grep -q 'trixie-\(updates\|security\)' "$WORK/stderr" && fail "extra-suites: [] still read: $(cat "$WORK/stderr")"
k1=$(kernel plan.txt) k2=$(kernel plan-e.txt)
[ -n "$k1" ] && [ -n "$k2" ] || fail "no kernel in the plans"
[ "$k1" != "$k2" ] || echo "note: trixie-security has no newer kernel than trixie ($k1)"
dpkg --compare-versions "${k1#* }" ge "${k2#* }" || fail "the default took an older kernel ($k1) than trixie alone ($k2)"
echo "kernel with the defaults: $k1; trixie alone: $k2"

# 2. testing and sid resolve; testing has its two extra suites, sid none.
vu=
until=$(curl -fsS --max-time 20 http://deb.debian.org/debian/dists/sid/InRelease |
	sed -n 's/^Valid-Until: //p')
if [ -n "$until" ] && [ "$(date -u -d "$until" +%s)" -lt "$(date +%s)" ]; then
	recipe x.yml "  suite: sid" "" "apt"
	expect_fail "packages: 'http://deb.debian.org/debian/dists/sid/InRelease' expired at" \
		--cache "$cache" check x.yml
	vu="  check-valid-until: false"
fi
recipe t.yml "  suite: testing" "$vu" "apt, linux-image-amd64"
mkbm --cache "$cache" check t.yml >plan-t.txt || { cat "$WORK/stderr"; fail "check testing"; }
grep -qF "packages: testing-security (amd64; main)" "$WORK/stderr" || fail "testing-security not read"
grep -qF "packages: testing-updates (amd64; main)" "$WORK/stderr" || fail "testing-updates not read"
recipe s.yml "  suite: sid" "$vu" "apt, linux-image-amd64"
mkbm --cache "$cache" check s.yml >plan-s.txt || { cat "$WORK/stderr"; fail "check sid"; }
grep -q 'sid-' "$WORK/stderr" && fail "sid got extra suites: $(cat "$WORK/stderr")"
[ "$(awk '/^  [a-z0-9]/' plan-s.txt | wc -l)" -gt 10 ] || fail "sid: $(cat plan-s.txt)"

# 3. sid unpacks (a tiny set), with deb822 sources that apt reads.
recipe s2.yml "  suite: sid" "$vu" "base-files"
mkbm --cache "$cache" s2.yml -o out/s.img || { cat "$WORK/stderr"; fail "build sid"; }
part_extract out/s.img 1 s.fs
fsck_clean s.fs
v=$(cat_file s.fs /etc/debian_version)
case $v in *sid*|forky*|*/*) ;; *) fail "sid's /etc/debian_version: '$v'" ;; esac
cat_file s.fs /etc/apt/sources.list.d/debian.sources >s.sources
expect_eq "$(cat s.sources)" "Types: deb
URIs: http://deb.debian.org/debian
Suites: sid
Components: main" "sid's debian.sources"
[ -z "$(cat_file s.fs /etc/apt/sources.list 2>/dev/null)" ] || fail "sid has a sources.list too"

# apt_targets SOURCES-FILE: the binary-amd64 Packages index targets apt makes of it (without
# the Release apt cannot know that binary-all is not needed).
apt_targets() {
	a=$WORK/apt-$$-$RANDOM
	mkdir -p "$a/parts" "$a/lists" "$a/empty"
	cp "$1" "$a/parts/debian.sources"
	APT_CONFIG=/dev/null apt-get indextargets --no-release-info \
		-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$a/parts" \
		-o Dir::State::Lists="$a/lists" -o Dir::Etc::Parts="$a/empty" \
		-o APT::Architecture=amd64 -o APT::Architectures=amd64 \
		'Identifier: Packages' 2>&1 | sed -n 's/^URI: //p' | grep binary-amd64 | sort
}
expect_eq "$(apt_targets s.sources)" \
	"http://deb.debian.org/debian/dists/sid/main/binary-amd64/Packages" "apt's reading of sid's sources"

# 4. trixie (the default): two stanzas, security on its own; bookworm: sources.list lines.
recipe x.yml "" "" "base-files"
mkbm --cache "$cache" x.yml -o out/x.img || { cat "$WORK/stderr"; fail "build trixie"; }
part_extract out/x.img 1 x.fs
cat_file x.fs /etc/apt/sources.list.d/debian.sources >x.sources
expect_eq "$(cat x.sources)" "Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie trixie-updates
Components: main

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: trixie-security
Components: main" "trixie's debian.sources"
expect_eq "$(apt_targets x.sources)" "http://deb.debian.org/debian-security/dists/trixie-security/main/binary-amd64/Packages
http://deb.debian.org/debian/dists/trixie-updates/main/binary-amd64/Packages
http://deb.debian.org/debian/dists/trixie/main/binary-amd64/Packages" "apt's reading of trixie's sources"
recipe b.yml "  suite: bookworm" "" "base-files"
mkbm --cache "$cache" b.yml -o out/b.img || { cat "$WORK/stderr"; fail "build bookworm"; }
part_extract out/b.img 1 b.fs
expect_eq "$(cat_file b.fs /etc/apt/sources.list)" "deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main" "bookworm's sources.list"
[ -z "$(cat_file b.fs /etc/apt/sources.list.d/debian.sources 2>/dev/null)" ] || fail "bookworm has debian.sources"

# 5. The negative for the apt check: a broken stanza is not read as the good one.
sed 's/^Suites: trixie trixie-updates/Suites: trixie/' x.sources >bad.sources
[ "$(apt_targets bad.sources | wc -l)" = 2 ] || fail "apt_targets does not see a missing suite"
