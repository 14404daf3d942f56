# An output disk that fills up mid-build: the message says the disk holding the image is
# full, how much is free and how much the image may still need, not libext2fs's "short
# write"; nothing is left at the output path. Needs a small tmpfs (root); skipped otherwise.
mkdir -p small
if ! mount -t tmpfs -o size=8m tmpfs small 2>/dev/null; then
	echo "skipped: cannot mount a tmpfs here"
	exit 0
fi
trap 'umount "$WORK/small"' EXIT
head -c $((20 << 20)) /dev/urandom >big
cat >recipe.yml <<'YAML'
image: {size: 64MiB}
partitions: [{name: root, size: rest, filesystem: {type: ext2, mount: /}}]
files: [{path: /big, source: big}]
YAML
set +e
"$MKBOOTMEDIA" recipe.yml -o small/x.img 2>err.txt
rc=$?
set -e
expect_eq $rc 1 "exit status"
grep -Eq "^error: recipe.yml:3:9: files\[0\]: cannot write '/big': no space left on the disk holding 'small/x.img' \([0-9.]+ [KM]?i?B free; the image may need up to [0-9.]+ MiB more\)" err.txt ||
	{ cat err.txt; fail "message"; }
expect_eq "$(grep -c '^error: ' err.txt)" 2 "one message and the stage's"
grep -q '\.x\.img\.' err.txt && { cat err.txt; fail "a message names the temporary file"; }
expect_eq "$(ls -A small)" "" "nothing left on the full disk"
