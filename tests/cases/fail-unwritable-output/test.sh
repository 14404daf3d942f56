# an output path that cannot be written: one message, exit 1, nothing left behind
cp -r "$CASE"/. .
mkdir -p out/ro
chmod 0555 out/ro
if [ "$(id -u)" -eq 0 ]; then
	chmod 0777 out "$WORK"
	set +e
	setpriv --reuid=65534 --regid=65534 --clear-groups "$MKBOOTMEDIA" recipe.yml -o out/ro/x.img 2>err.txt
	rc=$?
	set -e
else
	set +e
	"$MKBOOTMEDIA" recipe.yml -o out/ro/x.img 2>err.txt
	rc=$?
	set -e
fi
expect_eq $rc 1 "exit status"
grep -Fq "error: cannot write output 'out/ro/x.img': Permission denied" err.txt || { cat err.txt; fail "message"; }
expect_eq "$(ls -A out/ro)" "" "nothing left"
