# variant: none installs only what include: names: local debs: are candidates (a local
# repository), so a recipe that names none is refused by check and build alike rather than
# building an image without packages.
mkdir -p debs
mkdeb debs foo 1 "$(mktemp -d)"
printf '%s\n' 'image: {size: 64MiB}' \
	'partitions: [{name: r, size: rest, filesystem: {type: ext2, mount: /}}]' \
	'packages: {mirror: none, variant: none, debs: [debs/]}' >r.yml
msg="r.yml:3:11: packages: nothing to install: variant: none installs only what include: names"
expect_fail "$msg" check r.yml
expect_fail "$msg" r.yml -o out/x.img
# Named, it is installed.
sed -i 's/debs: \[debs\/\]/debs: [debs\/], include: [foo]/' r.yml
mkbm r.yml -o out/x.img || fail "$(cat "$WORK/stderr")"
part_extract out/x.img 1 root.img
dbg root.img "cat /var/lib/dpkg/status" | grep -q '^Package: foo$' || fail "foo is not installed"
