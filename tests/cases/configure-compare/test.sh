# The root configured through the user namespace matches what mmdebstrap (unshare mode)
# installs from the same package list: the same paths, types, modes, owners and symlink
# targets, and the same dpkg status for every package. Both are read with independent
# tools (debugfs rdump of our image, tar of mmdebstrap's); the differences allowed are
# listed in allowed.txt, each with the reason.
cache=$(test_cache)
mkbm --cache "$cache" "$CASE/recipe.yml" -o out/c.img || { cat "$WORK/stderr"; fail "build"; }
"$MKBOOTMEDIA" --cache "$cache" --offline check "$CASE/recipe.yml" >plan.txt 2>/dev/null ||
	fail "check"
awk '/^  [a-z0-9][^ ]* +[0-9]/ { print $1 }' plan.txt >list.txt
[ "$(wc -l <list.txt)" -gt 80 ] || fail "package list: $(cat list.txt)"
# mmdebstrap's own minbase (from the mirror) with debootstrap's merged /usr, as we make it.
# The suite and the packages come from the case (configure-compare-trixie sources this
# script with its own recipe.yml, allowed.txt and these two).
suite=${COMPARE_SUITE:-bookworm}
mmdebstrap --quiet --mode=unshare --variant=minbase --include="${COMPARE_INCLUDE:-sysvinit-core,cron}" \
	--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr "$suite" mm.tar \
	"deb http://deb.debian.org/debian $suite main" \
	"deb http://deb.debian.org/debian $suite-updates main" \
	"deb http://deb.debian.org/debian-security $suite-security main" \
	>mm.log 2>&1 || { tail -30 mm.log; fail "mmdebstrap"; }
mkdir mm ours
tar -C mm --numeric-owner -xpf mm.tar
part_extract out/c.img 1 root.fs
fsck_clean root.fs
# Our side: debugfs rdump for the symlink targets (it drops setuid and sticky bits), and
# debugfs "ls -p" of every directory for the exact modes and owners.
debugfs -R "rdump / $WORK/ours" root.fs >/dev/null 2>&1
(cd ours && find . -type d) | sed 's|^\.||; s|^$|/|; s|^|ls -p |' >ls.cmds
debugfs -f ls.cmds root.fs 2>/dev/null | awk -F/ -v root="$WORK/ours" '
	/^debugfs: ls -p / { dir = substr($0, 16); if (dir != "/") dir = dir "/"; next }
	NF >= 7 && $6 != "." && $6 != ".." {
		m = 0; for (i = 1; i <= length($3); i++) m = m * 8 + substr($3, i, 1)
		t = int(m / 4096); p = m % 4096
		y = t == 4 ? "d" : t == 8 ? "f" : t == 10 ? "l" : t == 2 ? "c" : t == 6 ? "b" : t == 1 ? "p" : "s"
		path = "." dir $6
		if (path ~ /^\.\/(dev|lost\+found|proc|sys)(\/|$)/) next
		l = ""; if (y == "l") { cmd = "readlink \"" root "/" substr(path, 3) "\""; cmd | getline l; close(cmd) }
		printf "%s %s %o %s %s %s\n", path, y, p, $4, $5, l
	}' | LC_ALL=C sort >ours.list
(cd mm && find . \( -path ./dev -o -path ./lost+found -o -path ./proc -o -path ./sys \) -prune -o \
	-printf '%p %y %m %U %G %l\n' | sed 1d | LC_ALL=C sort) >mm.list
# deb-systemd-helper names a unit through /lib in one root and /usr/lib in the other: with
# the merged /usr (/lib -> usr/lib) it is the same file, so link targets are compared as
# /usr/lib.
for l in mm.list ours.list; do
	sed -i 's| /lib/systemd/system/\([^ /]*\)$| /usr/lib/systemd/system/\1|' $l
done
[ "$(wc -l <ours.list)" -gt 5000 ] || fail "our listing: $(wc -l <ours.list) entries"
grep -q '^\./usr/bin/passwd f 4755 0 0 $' ours.list || fail "passwd: $(grep '/usr/bin/passwd ' ours.list)"
allowed() {
	grep -v '^#' "$CASE/allowed.txt" | grep -v '^$'
}
diff mm.list ours.list | grep '^[<>]' | grep -Ev -f <(allowed) >diff.txt || true
[ ! -s diff.txt ] || { head -60 diff.txt; fail "$(wc -l <diff.txt) differences with mmdebstrap"; }
status() {
	dpkg-query --admindir="$1/var/lib/dpkg" -W \
		-f '${Package} ${Version} ${Architecture} ${db:Status-Abbrev}\n' | LC_ALL=C sort
}
status mm >mm.status
status ours >ours.status
diff mm.status ours.status >status.diff || { cat status.diff; fail "dpkg status differs"; }
grep -vc '^[^ ]* [^ ]* [^ ]* ii $' ours.status >/dev/null && fail "not all ii: $(grep -v ' ii $' ours.status)"
[ "$(wc -l <ours.status)" -gt 80 ] || fail "status: $(wc -l <ours.status) packages"
