# dpkg's rules for control files and for paths several packages ship, checked on the
# result with dpkg-query: a control file that would break /var/lib/dpkg/status is refused; a
# file (or a file where a directory comes) shipped by two packages is refused unless one
# Replaces the other, and then the path moves to the replacing package's list; a path an
# archive has twice is listed once.
recipe() { # recipe NAME INCLUDE...: a recipe installing local packages from debs-NAME/
	name=$1
	shift
	cat >"$name.yml" <<YAML
image: {size: 48MiB, seed: rules}
partitions:
  - {name: root, size: rest, filesystem: {type: ext2, mount: /}}
fstab: false
flash: false
packages: {mirror: none, variant: none, include: [$(echo "$@" | sed 's/ /, /g')], debs: [debs-$name]}
YAML
	mkdir -p "debs-$name"
}
tree() { # tree DIR PATH=CONTENT...: a package tree
	d=$1
	shift
	rm -rf "$d"
	mkdir -p "$d"
	for spec in "$@"; do
		mkdir -p "$d/$(dirname "${spec%%=*}")"
		printf '%s\n' "${spec#*=}" >"$d/${spec%%=*}"
	done
}

# Control files dpkg -i refuses (made without dpkg-deb, which refuses them too).
mkdir -p src/usr/share/x
printf 'x\n' >src/usr/share/x/x
(cd src && bsdtar --format=gnutar --uid 0 --gid 0 -cf ../x.tar ./usr)
recipe status status
mkdeb_tar debs-status/s.deb status 1 x.tar "Status: install ok installed"
expect_fail "'debs-status/s.deb': control:5: value for 'Status' field not allowed in a package" status.yml -o out/x.img
recipe twice twice
mkdeb_tar debs-twice/t.deb twice 1 x.tar "Version: 2"
expect_fail "'debs-twice/t.deb': control:5: duplicate value for 'Version' field" twice.yml -o out/x.img
recipe badname badname
mkdeb_tar debs-badname/b.deb ../../etc/x 1 x.tar
expect_fail "'debs-badname/b.deb': control: invalid package name '../../etc/x'" badname.yml -o out/x.img

# A file in two packages, without Replaces.
recipe clash clash-b
tree a usr/bin/shared=from-a
tree b usr/bin/shared=from-b
mkdeb debs-clash clash-a 1 a
mkdeb debs-clash clash-b 1 b "Depends: clash-a"
expect_fail "packages(clash-b): trying to overwrite '/usr/bin/shared', which is also in package clash-a (1)" clash.yml -o out/x.img

# A directory where another package has a file, without Replaces (packages are unpacked
# in the order of their names).
recipe dirclash b-dir
tree a opt/thing=a-file
tree b opt/thing/inside=b-file
mkdeb debs-dirclash a-file 1 a
mkdeb debs-dirclash b-dir 1 b "Depends: a-file"
expect_fail "packages(b-dir): trying to overwrite '/opt/thing', which is also in package a-file (1)" dirclash.yml -o out/x.img

# The same with Replaces: allowed, and the paths change hands. p2-new and p3-dir replace
# p1-old, unpacked before them; r1-new replaces r2-old, unpacked after it (r2-old's paths
# are then skipped, as dpkg keeps the replacing package's). "dup" has every entry twice.
recipe ok p2-new p3-dir r1-new dup
tree a usr/bin/shared=from-p1 usr/bin/only-p1=p1 opt/thing=p1-file
tree b usr/bin/shared=from-p2
tree c opt/thing/inside=p3-file
mkdeb debs-ok p1-old 1 a
mkdeb debs-ok p2-new 2 b "Depends: p1-old" "Replaces: p1-old (<< 2)"
mkdeb debs-ok p3-dir 1 c "Depends: p1-old" "Replaces: p1-old"
tree r1 usr/bin/rshared=from-r1 opt/rthing/inside=r1-file
tree r2 usr/bin/rshared=from-r2 opt/rthing=r2-file usr/bin/only-r2=r2
mkdeb debs-ok r1-new 2 r1 "Depends: r2-old" "Replaces: r2-old"
mkdeb debs-ok r2-old 1 r2
tree d usr/share/dup/f=dup
mkdeb debs-ok dup 1 d
dpkg-deb --fsys-tarfile debs-ok/dup_1_all.deb >d1.tar
bsdtar --format=gnutar -cf d2.tar @d1.tar @d1.tar
[ "$(tar -tf d2.tar | grep -c 'usr/share/dup/f$')" = 2 ] || fail "d2.tar has the file twice"
rm debs-ok/dup_1_all.deb
mkdeb_tar debs-ok/dup.deb dup 1 d2.tar
mkbm ok.yml -o out/ok.img || { cat "$WORK/stderr"; fail "build with Replaces"; }
part_extract out/ok.img 1 root.img
fsck_clean root.img
expect_eq "$(cat_file root.img /usr/bin/shared)" from-p2 "/usr/bin/shared comes from p2-new"
expect_eq "$(cat_file root.img /opt/thing/inside)" p3-file "/opt/thing is p3-dir's directory"
expect_eq "$(cat_file root.img /usr/bin/rshared)" from-r1 "/usr/bin/rshared stays r1-new's"
expect_eq "$(cat_file root.img /opt/rthing/inside)" r1-file "/opt/rthing stays r1-new's directory"
debugfs -R "rdump /var/lib/dpkg $WORK" root.img 2>/dev/null
q() { dpkg-query --admindir="$WORK/dpkg" "$@"; }
expect_eq "$(q -W -f '${Package} ${Version} ${Status}\n' | tr '\n' ';')" \
	"dup 1 install ok unpacked;p1-old 1 install ok unpacked;p2-new 2 install ok unpacked;p3-dir 1 install ok unpacked;r1-new 2 install ok unpacked;r2-old 1 install ok unpacked;" \
	"dpkg-query reads the status file"
for owner in p2-new:/usr/bin/shared p1-old:/usr/bin/only-p1 p3-dir:/opt/thing \
	r1-new:/usr/bin/rshared r1-new:/opt/rthing r2-old:/usr/bin/only-r2; do
	expect_eq "$(q -S "${owner#*:}")" "${owner%%:*}: ${owner#*:}" "owner of ${owner#*:}"
done
expect_eq "$(q -L dup | sort | uniq -d)" "" "dup lists each path once"
expect_eq "$(q -L dup | grep -c '^/usr/share/dup/f$')" 1 "dup lists its file"
true
