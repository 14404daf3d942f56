# Shared by the benchmarks (sourced): timing, the RESULT lines bench/run collects, and the
# checks that a bench measured the stage it names, read from the image with debugfs.
#
# The contract with bench/run: a bench ends with one line per ratio it measures,
#   RESULT name=<bench> ours=<x> peer=<x> ratio=<x> target=<op><x> [unit=<u>]
# ours and peer in seconds unless unit= says otherwise, op one of <= >= < >, and the ratio is
# the figure compared with the target.

now() { date +%s.%N; }
secs() { printf "%.2f" "$(echo "$2 - $1" | bc)"; }
# ratio A B: A / B with two decimals (a leading 0 kept)
ratio() { printf '%.2f' "$(echo "scale=4; $1 / $2" | bc)"; }
# min X...: the smallest number
min() { printf '%s\n' "$@" | sort -g | head -n 1; }
# max X...: the largest number
max() { printf '%s\n' "$@" | sort -g | tail -n 1; }

# result NAME OURS PEER RATIO TARGET [UNIT]
result() {
	printf 'RESULT name=%s ours=%s peer=%s ratio=%s target=%s%s\n' "$1" "$2" "$3" "$4" "$5" \
		"${6:+ unit=$6}"
}

bench_fail() {
	echo "${0##*/}: $*" >&2
	exit 1
}

# plan_configure PLAN: the configure mode a `mkbootmedia check` plan shows ("none", "userns"...)
plan_configure() {
	sed -n 's/^configure: *\([a-z-]*\).*/\1/p' "$1" | head -n 1
}

# image_dpkg_status IMAGE: the dpkg status file of the image's root filesystem (the first
# partition that holds /var/lib/dpkg/status), read with debugfs.
image_dpkg_status() {
	local img=$1 tmp n start size status
	tmp=$(mktemp /tmp/mkbootmedia-bench-part.XXXXXX)
	for n in $(sfdisk --json "$img" | jq -r '.partitiontable.partitions | keys[] + 1'); do
		start=$(sfdisk --json "$img" | jq -r ".partitiontable.partitions[$((n - 1))].start")
		size=$(sfdisk --json "$img" | jq -r ".partitiontable.partitions[$((n - 1))].size")
		dd if="$img" of="$tmp" bs=1M iflag=skip_bytes,count_bytes skip=$((start * 512)) \
			count=$((size * 512)) conv=sparse status=none
		# into a variable: grep -q on a pipe would stop debugfs early (SIGPIPE, pipefail)
		status=$(debugfs -R "cat /var/lib/dpkg/status" "$tmp" 2>/dev/null) || status=
		rm -f "$tmp"
		if grep -q '^Package: ' <<<"$status"; then
			printf '%s\n' "$status"
			return 0
		fi
	done
	return 1
}

# expect_stage STATUS PLAN IMAGE: every package of IMAGE (if given) has dpkg status
# "install ok STATUS", and the plan's configure mode fits: none for "unpacked" (no maintainer
# script ran: what `dpkg --unpack` leaves), any other for "installed" (the scripts ran).
expect_stage() {
	local want=$1 mode status others
	mode=$(plan_configure "$2")
	if [ "$want" = unpacked ]; then
		[ "$mode" = none ] ||
			bench_fail "the recipe has 'configure: $mode': this bench measures unpacking only (configure: none)"
	else
		[ -n "$mode" ] && [ "$mode" != none ] ||
			bench_fail "the recipe has 'configure: ${mode:-?}': this bench measures the configure stage"
	fi
	[ -z "$3" ] && return 0
	status=$(image_dpkg_status "$3") || bench_fail "no dpkg status in '$3'"
	# whole pipes (no grep -q): an early exit would fail the pipe under pipefail
	others=$(grep '^Status: ' <<<"$status" | grep -v "^Status: install ok $want\$") || true
	[ -z "$others" ] ||
		bench_fail "packages in '$3' are not '$want': $(sort <<<"$others" | uniq -c | tr -s ' ' | paste -sd,)"
	grep -q "^Status: install ok $want\$" <<<"$status" || bench_fail "no $want package in '$3'"
}
expect_stage_unpack() { expect_stage unpacked "$@"; }
expect_stage_configure() { expect_stage installed "$@"; }
