# A build killed with SIGKILL cannot clean up: its temporary image (.x.img.XXXXXX, see the
# README's -o) stays until the next build to the same output removes it. A temporary that a
# running build still holds (locked) is left alone.
head -c $((256 << 20)) /dev/urandom >big.bin
cat >big.yml <<'YAML'
image: {size: 512MiB}
partitions: [{name: root, size: rest, filesystem: {type: ext4, mount: /}}]
files: [{path: /big.bin, source: big.bin}]
YAML
cat >small.yml <<'YAML'
image: {size: 32MiB}
partitions: [{name: root, size: rest, filesystem: {type: ext2, mount: /}}]
YAML
"$MKBOOTMEDIA" -v big.yml -o out/x.img 2>err.txt &
pid=$!
for _ in $(seq 200); do
	grep -q '/big.bin' err.txt && break
	sleep 0.05
done
grep -q '/big.bin' err.txt || fail "the build never reached the files stage"
kill -KILL $pid || fail "the build finished before the signal; make big.bin larger"
set +e
wait $pid
rc=$?
set -e
expect_eq $rc 137 "killed by SIGKILL"
left=$(cd out && ls -A)
expect_match "$left" '^\.x\.img\.[A-Za-z0-9]{6}$' "the killed build's temporary image"
# Another build's temporary, still in use (locked): must stay.
exec 9>out/.x.img.INUSE1
flock -n 9 || fail "flock"
mkbm small.yml -o out/x.img || { cat "$WORK/stderr"; fail "the next build"; }
exec 9>&-
grep -Fq "removed 'out/$left', left by an interrupted build" "$WORK/stderr" || { cat "$WORK/stderr"; fail "says what it removed"; }
expect_eq "$(cd out && ls -A | tr '\n' ' ')" ".x.img.INUSE1 x.img x.img.bmap " "the image, its bmap and the locked temporary"
rm out/.x.img.INUSE1
