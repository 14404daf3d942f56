# bench/run --smoke: every benchmark runs on a tiny set and measures the stage it names.
# Then the benches must refuse to measure the wrong stage: packages.sh with a recipe that
# configures, configure.sh with one that does not, and the image check (debugfs on the
# built image's dpkg status) on its own, with a status that says the scripts ran.
top=$(cd "$CASE/../../.." && pwd)
export MKBOOTMEDIA_TEST_CACHE
MKBOOTMEDIA_TEST_CACHE=$(test_cache)
BENCH_LOG_DIR=$WORK/logs "$top/bench/run" --smoke >table.txt 2>run.txt ||
	{ cat run.txt table.txt; fail "bench/run --smoke"; }
cat table.txt
for name in packages packages-floor packages-cached packages-rss configure-bookworm configure-trixie encrypt \
	output-zst output-gz output-bmap output-flash; do
	grep -Eq "^$name +[0-9.]+ [a-zA-Z/]+ +([0-9.]+ [a-zA-Z/]+|-) +[0-9.]+ +[<>]=?[0-9.]+ +ran$" table.txt ||
		fail "no row for '$name' in the table"
done
# h12's configure-initramfs bench: its row, whether it is in the tree yet or not
grep -Eq '^configure-initramfs.* (ran|missing)$' table.txt || fail "configure-initramfs row"
grep -q 'failed' table.txt && fail "a bench failed"

# The wrong stage, refused before anything is timed.
set +e
BENCH_CONFIGURE=userns "$top/bench/packages.sh" --smoke >pk.txt 2>&1; rc=$?
set -e
[ "$rc" -ne 0 ] || fail "packages.sh measured a build that configures"
grep -q "the recipe has 'configure: userns': this bench measures unpacking only" pk.txt ||
	fail "packages.sh's message: $(cat pk.txt)"
grep -q '^RESULT' pk.txt && fail "packages.sh printed a result"
set +e
BENCH_CONFIGURE=none "$top/bench/configure.sh" --smoke >cf.txt 2>&1; rc=$?
set -e
[ "$rc" -ne 0 ] || fail "configure.sh measured a build that does not configure"
grep -q "the recipe has 'configure: none': this bench measures the configure stage" cf.txt ||
	fail "configure.sh's message: $(cat cf.txt)"
set +e
"$top/bench/run" --smoke no-such-bench >/dev/null 2>err.txt; rc=$?
set -e
expect_eq "$rc" 2 "bench/run with an unknown bench"

# The image check alone: a root whose dpkg status says "installed" (written by files:, so
# that no configure stage is involved) is refused as an unpack-only build, one that says
# "unpacked" accepted, and the other way round for configure.
for s in unpacked installed; do
	printf 'Package: a\nStatus: install ok %s\n\nPackage: b\nStatus: install ok unpacked\n' "$s" \
		>status-$s
	cat >r-$s.yml <<YAML
image: {size: 16MiB, seed: bench-smoke}
partitions:
  - {name: root, size: rest, filesystem: {type: ext2, mount: /}}
fstab: false
flash: false
files:
  - {path: /var/lib/dpkg/status, source: status-$s}
YAML
	mkbm -q r-$s.yml -o out/$s.img || { cat "$WORK/stderr"; fail "build $s"; }
done
printf 'configure: none\n' >plan-none
printf 'configure: userns\n' >plan-userns
(source "$top/bench/lib.sh" && expect_stage_unpack plan-none out/unpacked.img) ||
	fail "an unpacked root refused"
set +e
(source "$top/bench/lib.sh" && expect_stage_unpack plan-none out/installed.img) 2>un.txt; rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a root with an installed package taken as unpacked only"
grep -q "are not 'unpacked': *1 Status: install ok installed" un.txt || fail "message: $(cat un.txt)"
set +e
(source "$top/bench/lib.sh" && expect_stage_configure plan-userns out/installed.img) 2>cf2.txt
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a root with an unpacked package taken as configured"
grep -q "are not 'installed'" cf2.txt || fail "message: $(cat cf2.txt)"
