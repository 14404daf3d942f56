# A build killed mid-way (SIGTERM, as from a CI timeout) leaves no image and no temporary
# file: the signal handler removes the temporary image.
head -c $((768 << 20)) /dev/urandom >big.bin
cat >recipe.yml <<'YAML'
image: {size: 1GiB}
partitions: [{name: root, size: rest, filesystem: {type: ext4, mount: /}}]
files: [{path: /big.bin, source: big.bin}]
YAML
"$MKBOOTMEDIA" -v recipe.yml -o out/x.img 2>err.txt &
pid=$!
for _ in $(seq 200); do
	grep -q '/big.bin' err.txt && break
	sleep 0.05
done
grep -q '/big.bin' err.txt || fail "the build never reached the files stage"
kill -TERM $pid
set +e
wait $pid
rc=$?
set -e
[ $rc -ne 0 ] || fail "the build finished before the signal; make big.bin larger"
expect_eq $rc 143 "killed by SIGTERM"
expect_eq "$(ls -A out)" "" "nothing left in the output directory"
