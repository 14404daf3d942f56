# The decoders run ahead of the writer (lib/unpack.c): while the writer is held up by a
# package of 30,000 small files (a-many, first in the plan's order), the next packages'
# rings, full at 4 MiB, grow within the pipeline's 16 MiB budget. Three 14 MiB files need
# more than the budget at once, so the budget holds some growth back. Checked with tools we
# did not write: every file's bytes (debugfs against the trees the .debs were made from),
# e2fsck, and the same image with -j 1 and -j 4 (cmp).
mkdir -p debs many/usr/share/many
(cd many/usr/share/many && seq 30000 | split -l 1 -a 5 - f)
mkdeb debs a-many 1.0 many
for i in 1 2 3; do
	mkdir -p grow$i/usr/share/grow$i
	seq $((i * 3000000)) $((i * 3000000 + 2000000)) >grow$i/usr/share/grow$i/blob
	truncate -s $((14 << 20)) grow$i/usr/share/grow$i/blob
	MKDEB_LEVEL=1 mkdeb debs grow$i 1.0 grow$i
done
cat >recipe.yml <<'YAML'
image: {size: 200MiB, seed: lookahead}
partitions:
  - {name: root, size: rest, filesystem: {type: ext4, mount: /}}
fstab: false
flash: false
packages:
  mirror: none
  variant: none
  include: [a-many, grow1, grow2, grow3]
  debs: [debs]
  configure: none # unpacking is what this checks
YAML
mkbm -vv -j 4 --no-unpack-cache recipe.yml -o out/a.img || { cat "$WORK/stderr"; fail "build"; }
line=$(grep 'the decoders ran ahead of the writer' "$WORK/stderr") || fail "no ring grew"
[[ $line =~ rings\ grew\ ([0-9]+)\ times,\ the\ budget\ held\ one\ back\ ([0-9]+)\ times ]] ||
	fail "unexpected: $line"
[ "${BASH_REMATCH[1]}" -ge 3 ] && [ "${BASH_REMATCH[2]}" -ge 1 ] ||
	fail "three full rings grew, and the budget held some back: $line"
part_extract out/a.img 1 root.fs
fsck_clean root.fs
for p in grow1 grow2 grow3; do
	expect_eq "$(cat_file root.fs /usr/share/$p/blob | md5sum)" "$(md5sum <$p/usr/share/$p/blob)" "$p's blob"
done
expect_eq "$(dbg root.fs 'ls -p /usr/share/many' | grep -c '^/[0-9]*/100644/')" 30000 "many's files"
expect_eq "$(cat_file root.fs /usr/share/many/fabsjv)" 30000 "one of many's files"
mkbm -j 1 --no-unpack-cache recipe.yml -o out/b.img || { cat "$WORK/stderr"; fail "build -j 1"; }
cmp out/a.img out/b.img || fail "-j 1 gives other bytes"
