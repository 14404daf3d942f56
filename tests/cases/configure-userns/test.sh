# The user-namespace path on a small root: run: steps run as root in the target with its
# /boot mounted; a step writing to /proc/.. or to a host path lands inside the target and
# never on the host; the root password from a file is hashed (yescrypt, salted from the
# seed: the same hash twice), never stored in clear; users are made; a failing step fails
# the build with its exit status and output, and leaves no image, no temporary file and
# no scratch directory.
cache=$(test_cache)
hostdir=$WORK/host-$$
sed "s|\"\$HOSTDIR\"|$hostdir|" "$CASE/recipe.yml" >recipe.yml
cp "$CASE/root.pw" .
chmod 600 root.pw
mkbm --cache "$cache" recipe.yml -o out/a.img || { cat "$WORK/stderr"; fail "build"; }
part_extract out/a.img 1 boot.fs
part_extract out/a.img 2 root.fs
fsck_clean boot.fs
fsck_clean root.fs
expect_eq "$(cat_file root.fs /etc/run-marker)" "ran as 0 on tiny" "run step"
dbg boot.fs "stat /run-marker-boot" | grep >/dev/null -c "^Inode:" || fail "/boot not mounted in the step"
dbg root.fs "stat /escape-proc" | grep >/dev/null -c "^Inode:" || fail "/proc/.. not in the target"
dbg root.fs "stat $hostdir/escape-host" | grep >/dev/null -c "^Inode:" || fail "host path not in the target"
[ ! -e /escape-proc ] || fail "a target script wrote /escape-proc on the host"
[ ! -e "$hostdir" ] || fail "a target script wrote $hostdir on the host"
shadow=$(cat_file root.fs /etc/shadow)
root_hash=$(awk -F: '$1 == "root" { print $2 }' <<<"$shadow")
expect_match "$root_hash" '^\$y\$' "root's yescrypt hash"
grep -q -a "correct horse" out/a.img && fail "the password is in the image in clear"
expect_match "$(awk -F: '$1 == "ada" { print $2 }' <<<"$shadow")" '^\$6\$adasalt\$' "ada's hash"
expect_match "$(cat_file root.fs /etc/passwd)" '^ada:x:1234:1234::/home/ada:/bin/sh$' "ada"
[ "$(stat_field root.fs /home/ada | cut -d' ' -f2)" = 1234 ] || fail "ada's home: $(stat_field root.fs /home/ada)"
expect_eq "$(symlink_target root.fs /etc/localtime)" "/usr/share/zoneinfo/Europe/Paris" "localtime"
# perl's crypt() checks the hash against the password.
expect_eq "$(perl -e 'print crypt($ARGV[0], $ARGV[1])' 'correct horse battery staple' "$root_hash")" \
	"$root_hash" "the hash of the password"
status=$(cat_file root.fs /var/lib/dpkg/status)
[ "$(grep -c '^Status: install ok installed$' <<<"$status")" = "$(grep -c '^Status: ' <<<"$status")" ] ||
	fail "not all installed"

# Same inputs, same seed: the same hash (and the same image).
mkbm --cache "$cache" recipe.yml -o out/b.img || { cat "$WORK/stderr"; fail "second build"; }
part_extract out/b.img 2 root2.fs
expect_eq "$(cat_file root2.fs /etc/shadow | awk -F: '$1 == "root" { print $2 }')" "$root_hash" "hash again"
rm -f out/b.img out/b.img.bmap root2.fs

mv out/a.img a.img
rm out/a.img.bmap
expect_fail "run step 'recipe step' failed with exit status 7" --cache "$cache" recipe.yml \
	-o out/c.img -D step='echo about to fail; exit 7'
grep -q "about to fail" "$WORK/stderr" || fail "the step's output is not shown"
