# Helpers for case tests (sourced by tests/run in each case's subshell). Results are checked
# with independent tools: sfdisk, e2fsck, debugfs, dumpe2fs, never with mkbootmedia itself.

fail() {
	echo "  FAILED: $*" >&2
	exit 1
}

# mkbm ARGS...: runs mkbootmedia quietly-ish, stderr kept in $WORK/stderr.
mkbm() {
	"$MKBOOTMEDIA" "$@" 2>"$WORK/stderr"
}

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# expect_match TEXT REGEX WHAT
expect_match() {
	printf '%s\n' "$1" | grep -Eq -- "$2" || fail "$3: '$1' does not match /$2/"
}

# part_field IMAGE N FIELD: a field of partition N (1-based) from sfdisk --json.
part_field() {
	sfdisk --json "$1" | jq -r ".partitiontable.partitions[$(($2 - 1))].$3"
}

# part_extract IMAGE N OUT: copies partition N into OUT (sparse) for e2fsck and debugfs.
part_extract() {
	start=$(part_field "$1" "$2" start)
	size=$(part_field "$1" "$2" size)
	[ "$start" != null ] || fail "no partition $2 in $1"
	dd if="$1" of="$3" bs=1M iflag=skip_bytes,count_bytes skip=$((start * 512)) \
		count=$((size * 512)) conv=sparse status=none
}

# fsck_clean FSIMAGE: e2fsck -fn must find nothing.
fsck_clean() {
	out=$(e2fsck -fn "$1" 2>&1) || { echo "$out" >&2; fail "e2fsck -fn $1 found errors"; }
}

# dbg FSIMAGE REQUEST: a debugfs request, its output on stdout.
dbg() {
	debugfs -R "$2" "$1" 2>/dev/null
}

# stat_field FSIMAGE PATH: "mode uid gid type" of a path, from debugfs stat.
stat_field() {
	dbg "$1" "stat $2" | awk '
		/^Inode:/ { for (i = 1; i <= NF; i++) { if ($i == "Type:") t = $(i+1); if ($i == "Mode:") m = $(i+1) } }
		/^User:/ { u = $2; g = $4 }
		END { print m, u, g, t }'
}

# cat_file FSIMAGE PATH
cat_file() {
	dbg "$1" "cat $2"
}

# symlink_target FSIMAGE PATH
symlink_target() {
	dbg "$1" "stat $2" | sed -n 's/^Fast link dest: "\(.*\)"$/\1/p'
}

# sb_field FSIMAGE FIELD: a superblock field from dumpe2fs -h ("Filesystem volume name").
sb_field() {
	dumpe2fs -h "$1" 2>/dev/null | sed -n "s/^$2: *//p"
}

# expect_fail EXPECTED-TEXT ARGS...: mkbootmedia must fail, print the text, and leave no
# image (nor a temporary one) in $WORK/out.
expect_fail() {
	text=$1
	shift
	if "$MKBOOTMEDIA" "$@" 2>"$WORK/stderr"; then
		fail "mkbootmedia $* succeeded, expected failure"
	fi
	grep -Fq -- "$text" "$WORK/stderr" || {
		cat "$WORK/stderr" >&2
		fail "stderr lacks '$text'"
	}
	# one message, plus at most the stage's own layer ("stage 'files' failed")
	[ "$(grep -c '^error: ' "$WORK/stderr")" -le 2 ] || { cat "$WORK/stderr" >&2; fail "more than one message"; }
	left=$(ls -A "$WORK/out" 2>/dev/null)
	[ -z "$left" ] || fail "files left in the output directory: $left"
}
