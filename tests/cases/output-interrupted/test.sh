# A build killed while it compresses (SIGTERM, as from a CI timeout; a background job of a
# script ignores SIGINT) leaves nothing: not the compressed image being written, not the
# raw temporary image, no .bmap, .sha256 or .spdx.json.
head -c $((96 << 20)) /dev/urandom >big.bin
cat >recipe.yml <<'YAML'
image: {size: 128MiB, seed: int}
partitions: [{name: root, size: rest, filesystem: {type: ext4, mount: /}}]
files: [{path: /big.bin, source: big.bin}]
YAML
"$MKBOOTMEDIA" -v recipe.yml -o out/x.img.xz --checksum --sbom 2>err.txt &
pid=$!
for _ in $(seq 600); do
	grep -q 'compressing the image' err.txt && break
	sleep 0.05
done
grep -q 'compressing the image' err.txt || { cat err.txt; fail "the build never reached the compression"; }
sleep 0.2
kill -TERM $pid
set +e
wait $pid
rc=$?
set -e
[ $rc -ne 0 ] || fail "the build finished before the signal; make big.bin larger"
expect_eq $rc 143 "killed by SIGTERM"
expect_eq "$(ls -A out)" "" "nothing left in the output directory"
