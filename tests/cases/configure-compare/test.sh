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
flat_repo "$cache" list.txt repo
mmdebstrap --quiet --mode=unshare --variant=custom --include="$(paste -sd, list.txt)" \
	bookworm mm.tar "deb [trusted=yes] copy://$WORK/repo ./" >mm.log 2>&1 ||
	{ tail -30 mm.log; fail "mmdebstrap"; }
mkdir mm ours
tar -C mm --numeric-owner -xpf mm.tar
part_extract out/c.img 1 root.fs
fsck_clean root.fs
debugfs -R "rdump / $WORK/ours" root.fs >/dev/null 2>&1
[ -d ours/etc ] || mv ours/*/ ours.tmp
list_tree() {
	(cd "$1" && find . \( -path ./dev -o -path ./lost+found -o -path ./proc -o -path ./sys \) \
		-prune -o -printf '%p %y %m %U %G %l\n' | LC_ALL=C sort)
}
allowed() {
	grep -v '^#' "$CASE/allowed.txt" | grep -v '^$'
}
list_tree mm >mm.list
list_tree ours >ours.list
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
