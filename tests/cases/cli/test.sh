# The command line: help, version, usage errors (exit 2), -v.
"$MKBOOTMEDIA" --help | grep >/dev/null -c '^Usage: mkbootmedia' || fail "--help"
expect_match "$("$MKBOOTMEDIA" --version)" '^mkbootmedia [0-9]+\.[0-9]+' "--version"
set +e
"$MKBOOTMEDIA" 2>err.txt; rc=$?
set -e
expect_eq $rc 2 "no recipe: usage error"
grep -q 'no recipe given' err.txt || fail "no recipe message"
printf 'image: {size: 8MiB}\n' >r.yml
set +e
"$MKBOOTMEDIA" r.yml 2>err.txt; rc=$?
set -e
expect_eq $rc 2 "no -o"
grep -q "no output given (use -o IMAGE" err.txt || fail "no -o message"
set +e
"$MKBOOTMEDIA" r.yml -o out/x.img --bogus 2>err.txt; rc=$?
set -e
expect_eq $rc 2 "unknown option"
[ ! -e out/x.img ] || fail "image written despite a usage error"
"$MKBOOTMEDIA" build r.yml -o out/x.img -v 2>err.txt
grep -q '^==> \[1/2\] image' err.txt || { cat err.txt; fail "stage banners"; }
expect_eq "$(stat -c %s out/x.img)" $((8 << 20)) "image without partitions"
"$MKBOOTMEDIA" -q r.yml -o out/y.img 2>err.txt
[ ! -s err.txt ] || fail "-q printed something"
for bad in "-j 0" "--jobs x" "--cache="; do
	set +e
	# shellcheck disable=SC2086
	"$MKBOOTMEDIA" r.yml -o out/z.img $bad 2>err.txt; rc=$?
	set -e
	expect_eq $rc 2 "bad option $bad"
	grep -Eq "jobs|cache" err.txt || fail "message for $bad"
	[ ! -e out/z.img ] || fail "image written despite $bad"
done
