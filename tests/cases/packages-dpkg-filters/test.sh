# The recipe's dpkg path filters reach the image's dpkg (issue 21): packages.path-exclude
# and path-include are written to /etc/dpkg/dpkg.cfg.d/mkbootmedia, so that a kernel apt
# installs later on the key is filtered as the build's was: the excludes then the
# includes, each in the recipe's order, the merged-usr twin after its glob (read with
# debugfs). Then this machine's dpkg reads that file in place of its own configuration (a
# mount namespace) and unpacks a package made here into an empty root: the excluded paths
# are missing, the included ones there, under /lib/modules and /usr/lib/modules alike.
# Negatives: the same dpkg without the file unpacks every path; a recipe without filters
# gets no file; a glob holding a newline (another dpkg option once written) is refused.
cfg=/etc/dpkg/dpkg.cfg.d/mkbootmedia
mkdir -p debs base/usr/bin base/usr/share/doc/base
printf 'tool\n' >base/usr/bin/tool
printf 'changes\n' >base/usr/share/doc/base/changelog
printf 'copyright\n' >base/usr/share/doc/base/copyright
mkdeb debs base 1.0 base

cat >filters.yml <<'YAML'
image: {size: 32MiB, seed: filters}
partitions:
  - {name: root, size: rest, filesystem: {type: ext2, mount: /}}
fstab: false
flash: false
packages:
  mirror: none
  variant: none
  include: [base]
  debs: [debs]
  path-exclude: [/usr/share/doc/*, /lib/modules/*/kernel/*]
  path-include: [/usr/share/doc/*/copyright, /lib/modules/*/kernel/fs/*]
YAML
mkbm filters.yml -o out/f.img || { cat "$WORK/stderr"; fail "build"; }
part_extract out/f.img 1 f.fs
fsck_clean f.fs
expect_eq "$(stat_field f.fs $cfg)" "0644 0 0 regular" "$cfg"
cat_file f.fs $cfg >dpkg.cfg
grep -q '^# Written by mkbootmedia from the recipe' dpkg.cfg || fail "no header: $(head -n 2 dpkg.cfg)"
grep -v '^#' dpkg.cfg >lines
cat >expected <<'LINES'
path-exclude=/usr/share/doc/*
path-exclude=/lib/modules/*/kernel/*
path-exclude=/usr/lib/modules/*/kernel/*
path-include=/usr/share/doc/*/copyright
path-include=/lib/modules/*/kernel/fs/*
path-include=/usr/lib/modules/*/kernel/fs/*
LINES
diff -u expected lines || fail "the filter lines of $cfg"
expect_eq "$(cat_file f.fs /usr/share/doc/base/copyright)" copyright "the build kept the copyright"
dbg f.fs "ls /usr/share/doc/base" | grep >/dev/null -c changelog && fail "the build unpacked the changelog"

# A package installed later: a kernel's modules under both layouts, documentation.
mkdir -p later/usr/bin later/usr/share/doc/later later/usr/lib/modules/9.9/kernel/drivers/net \
	later/usr/lib/modules/9.9/kernel/fs/ext4 later/lib/modules/8.8/kernel/drivers \
	later/lib/modules/8.8/kernel/fs/fat
for f in usr/bin/later usr/share/doc/later/changelog usr/share/doc/later/copyright \
	usr/lib/modules/9.9/modules.order usr/lib/modules/9.9/kernel/drivers/net/e1000.ko \
	usr/lib/modules/9.9/kernel/fs/ext4/ext4.ko lib/modules/8.8/kernel/drivers/old.ko \
	lib/modules/8.8/kernel/fs/fat/fat.ko; do
	printf '%s\n' "$f" >"later/$f"
done
mkdir -p debs-later
mkdeb debs-later later 1 later
deb=$WORK/debs-later/later_1_all.deb
# unpack CFG.D ROOT: dpkg --unpack of the package into ROOT, dpkg's configuration being the
# directory CFG.D alone (this machine's /etc/dpkg/dpkg.cfg emptied, no ~/.dpkg.cfg).
: >empty.cfg
unpack() {
	mkdir -p "$2/var/lib/dpkg/info" "$2/var/lib/dpkg/updates"
	: >"$2/var/lib/dpkg/status"
	unshare -rm sh -c 'mount --bind "$1" /etc/dpkg/dpkg.cfg.d &&
		mount --bind "$WORK/empty.cfg" /etc/dpkg/dpkg.cfg &&
		HOME=/nonexistent dpkg --root="$2" --log=/dev/null --unpack "$3"' \
		sh "$WORK/$1" "$WORK/$2" "$deb" >"$2.log" 2>&1 || { cat "$2.log"; fail "dpkg --unpack into $2"; }
}
mkdir -p with.d without.d
cp dpkg.cfg with.d/mkbootmedia
unpack with.d with
unpack without.d without
for f in usr/bin/later usr/share/doc/later/copyright usr/lib/modules/9.9/modules.order \
	usr/lib/modules/9.9/kernel/fs/ext4/ext4.ko lib/modules/8.8/kernel/fs/fat/fat.ko; do
	[ -f "with/$f" ] || fail "dpkg with the image's filters left out /$f"
done
for f in usr/share/doc/later/changelog usr/lib/modules/9.9/kernel/drivers/net/e1000.ko \
	lib/modules/8.8/kernel/drivers/old.ko; do
	[ ! -e "with/$f" ] || fail "dpkg with the image's filters unpacked /$f"
	[ -f "without/$f" ] || fail "dpkg without the filters left out /$f"
done

# No filters, no file.
sed '/path-/d' filters.yml >plain.yml
mkbm plain.yml -o out/p.img || { cat "$WORK/stderr"; fail "build without filters"; }
part_extract out/p.img 1 p.fs
[ -z "$(dbg p.fs "stat $cfg" | grep Inode)" ] || fail "a recipe without filters got $cfg"
expect_eq "$(cat_file p.fs /usr/share/doc/base/changelog)" changes "no filter, the changelog unpacked"

# A glob is one line of dpkg's configuration: a newline in it is refused at its place.
sed 's|\[/usr/share/doc/\*, |["/usr/share/doc/*\\nforce-all", |' filters.yml >bad.yml
grep -q 'force-all' bad.yml || fail "bad.yml"
rm out/*
expect_fail "bad.yml:11:18: packages.path-exclude[0]: '/usr/share/doc/*\\nforce-all' is not an absolute glob of printable characters" check bad.yml
