# flash without a device to write (no root needed): usage errors exit 2, bad input exits 1
# with one message, and a damaged bmap or a truncated image is refused before the device
# is looked at. The writing itself is flash-loop's.
flash_rc() { # EXPECTED-STATUS TEXT ARGS...
	want=$1 text=$2
	shift 2
	set +e
	"$MKBOOTMEDIA" flash "$@" 2>err.txt
	rc=$?
	set -e
	expect_eq $rc "$want" "flash $*: exit status"
	grep -Fq -- "$text" err.txt || { cat err.txt; fail "flash $*: no '$text'"; }
	# getopt's own message has no "error:" prefix
	expect_eq "$(grep -Ec '^error|unrecognized' err.txt)" 1 "flash $*: error lines"
}
printf 'image: {size: 8MiB, seed: cli}\npartitions: [{name: r, size: rest, filesystem: {type: ext2}}]\n' >r.yml
"$MKBOOTMEDIA" -q r.yml -o out/i.img.gz || fail "build"
expect_eq "$(ls out | tr '\n' ' ')" "i.img.bmap i.img.gz " "outputs"
flash_rc 2 "flash takes an image and a device" out/i.img.gz
flash_rc 2 "flash takes an image and a device" out/i.img.gz /dev/null extra
flash_rc 2 "--verify-only writes nothing: it cannot --grow" out/i.img.gz /dev/null --verify-only --grow
flash_rc 2 "unrecognized option" out/i.img.gz /dev/null --bogus
flash_rc 1 "cannot open image 'nothere.img'" nothere.img /dev/null
touch notadev
flash_rc 1 "'notadev' is not a block device" out/i.img.gz notadev --yes
sed 's/<BlocksCount> \([0-9]*\)/<BlocksCount> 1\1/' out/i.img.bmap >bad.bmap
flash_rc 1 "bmap 'bad.bmap': 12048 blocks of 4096 bytes do not make an image" out/i.img.gz notadev --bmap bad.bmap --yes
head -c 100 out/i.img.gz >t.img.gz
flash_rc 1 "the file is truncated" t.img.gz notadev --yes
# With its bmap too: the stream is checked whole before anything is written.
flash_rc 1 "the file is truncated" t.img.gz notadev --bmap out/i.img.bmap --yes
flash_rc 1 "cannot read bmap 'none.bmap'" out/i.img.gz notadev --bmap none.bmap
# The bmap of another image: its size does not match a raw image.
gzip -dc out/i.img.gz >raw.img
truncate -s 16M raw.img
flash_rc 1 "they do not belong together" raw.img notadev --bmap out/i.img.bmap --yes
# check refuses build-only output options.
flash_rc_check() {
	set +e
	"$MKBOOTMEDIA" check r.yml "$@" 2>err.txt
	rc=$?
	set -e
	expect_eq $rc 2 "check $*"
	grep -q "'check' writes nothing" err.txt || fail "check $*: $(cat err.txt)"
}
flash_rc_check --sbom
flash_rc_check --no-bmap
