# The libFuzzer targets of tests/fuzz, each for FUZZ_TIME seconds (30 here, to keep CI
# within its budget; make fuzz-smoke's own default is 60) on the generated seed corpora,
# after replaying every reproducer in tests/fuzz/regressions. Any crash, leak or sanitizer report fails (make fuzz-smoke).
top=$(cd "$CASE/../../.." && pwd)
if ! command -v clang >/dev/null; then
	echo "SKIPPED: clang is not installed (tools/install-deps installs it)"
	exit 0
fi
make -s -C "$top" -j2 fuzz >"$WORK/build.log" 2>&1 || { tail -n 30 "$WORK/build.log"; fail "make fuzz"; }
make -s -C "$top" fuzz-smoke FUZZ_TIME="${FUZZ_TIME:-30}" || fail "make fuzz-smoke found crashes"
