# A build started with SIGHUP ignored (nohup, trap '' HUP) keeps it ignored: a hangup
# mid-build changes nothing, the image is written.
head -c $((384 << 20)) /dev/urandom >big.bin
cat >recipe.yml <<'YAML'
image: {size: 512MiB}
partitions: [{name: root, size: rest, filesystem: {type: ext4, mount: /}}]
files: [{path: /big.bin, source: big.bin}]
YAML
(trap '' HUP; exec "$MKBOOTMEDIA" -v recipe.yml -o out/x.img 2>err.txt) &
pid=$!
for _ in $(seq 200); do
	grep -q '/big.bin' err.txt && break
	sleep 0.05
done
grep -q '/big.bin' err.txt || fail "the build never reached the files stage"
kill -HUP $pid || fail "the build finished before the signal; make big.bin larger"
set +e
wait $pid
rc=$?
set -e
[ $rc -eq 0 ] || { cat err.txt; fail "the build died on SIGHUP (status $rc)"; }
expect_eq "$(ls -A out | tr '\n' ' ')" "x.img x.img.bmap " "the image and its bmap, and nothing else"
part_extract out/x.img 1 root.img
fsck_clean root.img
expect_eq "$(cat_file root.img /big.bin | cmp - big.bin && echo same)" same "big.bin"
