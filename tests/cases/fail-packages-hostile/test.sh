# Hostile or broken packages are refused with a message naming the package and the entry,
# and leave no image: path traversal, absolute names, a symlink leading out of the target,
# truncated and corrupt archives, a file replacing a directory, a file larger than the
# filesystem.
mkdir -p src/d
printf 'evil\n' >src/d/x
recipe() { # recipe NAME: a recipe installing the local package NAME from debs-NAME/
	cat >"$1.yml" <<YAML
image: {size: 48MiB, seed: hostile}
partitions:
  - {name: root, size: rest, filesystem: {type: ext2, mount: /}}
fstab: false
flash: false
packages: {mirror: none, variant: none, include: [$1], debs: [debs-$1]}
YAML
	mkdir -p "debs-$1"
}

recipe traversal
(cd src && bsdtar --format=gnutar -cf ../t.tar -P -s ',^d/x$,./../../etc/evil,' d/x)
mkdeb_tar debs-traversal/t.deb traversal 1 t.tar
expect_fail "packages(traversal): data.tar.xz: entry './../../etc/evil'" traversal.yml -o out/x.img

recipe absolute
(cd src && bsdtar --format=gnutar -cf ../a.tar -P -s ',^d/x$,/etc/evil,' d/x)
mkdeb_tar debs-absolute/a.deb absolute 1 a.tar
expect_fail "entry '/etc/evil'" absolute.yml -o out/x.img

recipe escape
cat >escape.mtree <<'MTREE'
#mtree
./etc type=dir mode=0755 time=1700000000.0
./etc/evil type=link mode=0777 link=../../../../tmp time=1700000000.0
./etc/evil/x type=file mode=0644 contents=src/d/x time=1700000000.0
MTREE
bsdtar --format=gnutar -cf e.tar @escape.mtree
mkdeb_tar debs-escape/e.deb escape 1 e.tar
expect_fail "packages(escape): '/etc/evil/x' leads outside the target through a symlink" escape.yml -o out/x.img

recipe truncated
head -c 300000 /dev/urandom >src/noise
(cd src && bsdtar --format=gnutar -cf ../n.tar noise)
mkdeb_tar debs-truncated/n.deb truncated 1 n.tar
size=$(stat -c %s debs-truncated/n.deb)
truncate -s $((size - 5000)) debs-truncated/n.deb
expect_fail "truncated.yml:6:70: packages.debs[0]: 'debs-truncated/n.deb': data.tar.xz: truncated archive" truncated.yml -o out/x.img

recipe corrupt
mkdeb_tar debs-corrupt/c.deb corrupt 1 n.tar
size=$(stat -c %s debs-corrupt/c.deb)
printf 'GARBAGEGARBAGEGARBAGE' | dd of=debs-corrupt/c.deb bs=1 seek=$((size - 150000)) conv=notrunc status=none
expect_fail "packages(corrupt):" corrupt.yml -o out/x.img

recipe clash
mkdir -p clash1/opt/x clash2/opt
printf 'file\n' >clash2/opt/x
mkdeb debs-clash clash 1 clash1 "Depends: clash2"
mkdeb debs-clash clash2 1 clash2
expect_fail "packages(clash2): trying to overwrite directory '/opt/x' in package clash (1) with nondirectory" clash.yml -o out/x.img

recipe big
truncate -s 60M src/zeros
(cd src && bsdtar --format=gnutar -cf ../big.tar zeros)
mkdeb_tar debs-big/big.deb big 1 big.tar
expect_fail "packages(big): no space for '/zeros'" big.yml -o out/x.img
