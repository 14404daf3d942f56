# Output paths that cannot work fail at once (no stage runs), with one message, and leave
# nothing: an empty name, a directory name, a missing directory, the recipe itself or a file
# it includes, a source file, a path inside an overlay. A name of 255 bytes works.
mkdir -p ov/sub
printf 'motd\n' >motd
cat >inc.yml <<'YAML'
image: {size: 32MiB}
YAML
cat >recipe.yml <<'YAML'
include: [inc.yml]
partitions: [{name: root, size: rest, filesystem: {type: ext2, mount: /}}]
overlays: [ov]
files: [{path: /etc/motd, source: motd}]
YAML
# early: no stage banner before the message
early_fail() { # early_fail TEXT ARGS...
	expect_fail "$@"
	grep -q '^==> ' "$WORK/stderr" && { cat "$WORK/stderr"; fail "a stage ran before: $*"; }
	true
}
early_fail "error: the output path is empty: give an image file name with -o" recipe.yml -o ""
early_fail "error: output 'out/new/' names a directory: give an image file name (like 'out/new/image.img')" recipe.yml -o out/new/
[ ! -e out/new ] || fail "out/new was created"
early_fail "error: cannot write output 'out/nodir/x.img': directory 'out/nodir': No such file or directory" recipe.yml -o out/nodir/x.img
early_fail "error: output 'out/.' names a directory" recipe.yml -o out/.
cp recipe.yml before.yml
cp inc.yml inc-before.yml
cp motd motd-before
early_fail "error: output 'recipe.yml' is the recipe file 'recipe.yml': the build would overwrite it" recipe.yml -o recipe.yml
early_fail "error: output './inc.yml' is the recipe file" recipe.yml -o ./inc.yml
early_fail "error: recipe.yml:4:35: files[0].source: 'motd' is the output (-o 'motd'): the build would overwrite it" recipe.yml -o motd
early_fail "error: recipe.yml:3:12: overlays[0]: the output 'ov/sub/x.img' is inside overlay directory 'ov', which the build copies" recipe.yml -o ov/sub/x.img
cmp recipe.yml before.yml && cmp inc.yml inc-before.yml && cmp motd motd-before || fail "an input changed"
expect_eq "$(ls -A ov/sub)" "" "nothing in the overlay"

# 255 bytes: the temporary name is cut to fit, the output keeps its name.
long=$(printf 'x%.0s' $(seq 251)).img
mkbm recipe.yml -o "out/$long" || { cat "$WORK/stderr"; fail "a 255-byte name"; }
expect_eq "$(ls -A out)" "$long" "the image, and nothing else"
