# A FIFO where a file is expected must be refused without blocking: opening one for reading
# waits for a writer forever. Each run is under `timeout`, so a regression fails instead of
# hanging the suite.
mkfifo fifo
run_fail() { # run_fail TEXT ARGS...: like expect_fail, within 20 s
	text=$1
	shift
	if timeout 20 "$MKBOOTMEDIA" "$@" 2>"$WORK/stderr"; then
		fail "mkbootmedia $* succeeded"
	fi
	grep -Fq -- "$text" "$WORK/stderr" || { cat "$WORK/stderr" >&2; fail "stderr lacks '$text'"; }
}
part='partitions: [{name: r, size: 16MiB, filesystem: {type: ext2, mount: /}}]'

printf 'include: [fifo]\n' >inc.yml
run_fail "inc.yml:1:11: include[0]: 'fifo' is not a regular file" check inc.yml
run_fail "inc.yml:1:11: include[0]: 'fifo' is not a regular file" inc.yml -o out/x.img
run_fail "'fifo' is not a regular file" check fifo
printf '%s\nfiles: [{path: /x, source: fifo}]\n' "$part" >src.yml
run_fail "'fifo' is not a regular file" check src.yml
# a FIFO named like a package in a directory of local debs
mkdir debs
mkfifo debs/x.deb
printf '%s\npackages: {mirror: none, variant: none, debs: [debs]}\n' "$part" >debs.yml
run_fail "debs.yml:2:48: packages.debs[0]: 'debs/x.deb' is not a regular file" check debs.yml

# A source that is a regular file when the recipe is checked and a FIFO when the files stage
# opens it: strace holds that open back for 3 s (-P with the path as the recipe writes it:
# strace matches the syscall's own string), and the test swaps
# the file once the stage's banner is out.
strace -f -o /dev/null true || fail "strace cannot trace here (the race needs it)"
printf 'x\n' >src.txt
printf '%s\nfstab: false\nflash: false\nfiles: [{path: /x, source: src.txt}]\n' "$part" >race.yml
timeout 20 strace -f -o /dev/null -P src.txt -e trace=openat \
	-e inject=openat:delay_enter=3000000 "$MKBOOTMEDIA" race.yml -o out/x.img 2>race.err &
pid=$!
for _ in $(seq 200); do
	grep -q '^==> \[[0-9]*/[0-9]*\] files' race.err && break
	sleep 0.05
done
grep -q '^==> \[[0-9]*/[0-9]*\] files' race.err || { kill "$pid"; fail "no files stage: $(cat race.err)"; }
rm src.txt
mkfifo src.txt
rc=0
wait "$pid" || rc=$?
# a build blocked on the FIFO (the regression) is released by a writer, then fails the test
dd of=src.txt oflag=nonblock count=0 status=none 2>/dev/null || true
[ "$rc" -ne 0 ] || fail "the build succeeded with a FIFO as source"
grep -Fq "is no longer a regular file" race.err || { cat race.err >&2; fail "race: rc $rc, no message"; }
[ -z "$(ls -A out)" ] || fail "files left in out: $(ls -A out)"
