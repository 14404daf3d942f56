# Resolver parity with apt: for bookworm and trixie (each with its -updates and -security
# suites), minbase and important, with a systemd and a sysvinit set of includes, the
# package set `mkbootmedia check` plans (names and versions) is compared with the one apt
# chooses for the same roots: `apt-get install --simulate` on an empty dpkg status, in a
# private apt directory with the same sources, Recommends off (as mmdebstrap runs apt, and
# with its roots: Essential, Priority required, apt, for important also Priority important,
# and the includes). Every difference is listed; each must match a line of explained.txt
# (a reason is given there), else the test fails. The negative half: a difference that is
# not explained (packages.prefer steering an alternative apt would not take) must fail the
# comparison.
cache=$(test_cache)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
command -v apt-get >/dev/null || skip "no apt-get"

# apt_set SUITE VARIANT INCLUDES...: "name version" lines of apt's choice; $ex, when set, is
# left out of the variant's roots.
apt_set() {
	suite=$1 variant=$2
	shift 2
	a=$cache/apt-parity-$suite
	mkdir -p "$a/etc/apt/sources.list.d" "$a/etc/apt/preferences.d" "$a/etc/apt/trusted.gpg.d" "$a/etc/apt/apt.conf.d" \
		"$a/var/lib/apt/lists/partial" "$a/var/cache/apt/archives/partial" "$a/var/lib/dpkg" \
		"$a/var/log/apt"
	: >"$a/var/lib/dpkg/status"
	cat >"$a/apt.conf" <<CONF
Dir "$a/";
Dir::Etc::SourceList "$a/etc/apt/sources.list";
Dir::Etc::SourceParts "$a/etc/apt/sources.list.d";
Dir::Etc::Parts "$a/etc/apt/apt.conf.d";
Dir::Etc::Preferences "$a/etc/apt/preferences";
Dir::Etc::PreferencesParts "$a/etc/apt/preferences.d";
Dir::Etc::Trusted "$a/etc/apt/trusted.gpg";
Dir::Etc::TrustedParts "$a/etc/apt/trusted.gpg.d";
Dir::State::status "$a/var/lib/dpkg/status";
Dir::Bin::dpkg "/bin/false";
APT::Architecture "amd64";
APT::Architectures "amd64";
Acquire::Languages "none";
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Debug::NoLocking "true";
Binary::apt-get::Acquire::AllowInsecureRepositories "false";
CONF
	cat >"$a/etc/apt/sources.list" <<LIST
deb [signed-by=$keyring] http://deb.debian.org/debian $suite main
deb [signed-by=$keyring] http://deb.debian.org/debian $suite-updates main
deb [signed-by=$keyring] http://deb.debian.org/debian-security $suite-security main
LIST
	if [ ! -e "$a/updated" ] || [ -n "$(find "$a/updated" -mmin +720)" ]; then
		APT_CONFIG=$a/apt.conf apt-get -q update >"$WORK/apt-update" 2>&1 ||
			{ cat "$WORK/apt-update"; fail "apt-get update ($suite)"; }
		touch "$a/updated"
	fi
	roots="?essential ?priority(required) apt"
	[ "$variant" = important ] && roots="$roots ?and(?priority(important),?not(?exact-name(${ex:-none})))"
	# shellcheck disable=SC2086 # roots are words
	APT_CONFIG=$a/apt.conf apt-get install --simulate -q -o APT::Get::Show-Versions=1 \
		$roots "$@" >"$WORK/apt-sim" 2>&1 || { cat "$WORK/apt-sim" >&2; fail "apt-get --simulate $suite $variant $*"; }
	sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1 \2/p' "$WORK/apt-sim" | sort
}

# mkbm_set SUITE VARIANT PREFER EXCLUDE INCLUDES...: "name version" lines of mkbootmedia's
# plan; $provides, when set, is its packages.provides.
mkbm_set() {
	suite=$1 variant=$2 prefer=$3 exclude=$4
	shift 4
	cat >r.yml <<YAML
image: {size: 2GiB, table: msdos}
partitions:
  - {name: root, size: rest, filesystem: {type: ext2, mount: /}}
packages:
  suite: $suite
  variant: $variant
  include: [$(echo "$@" | sed 's/ /, /g')]
  prefer: [$prefer]
  exclude: [$exclude]
  provides: [${provides:-}]
  configure: none
YAML
	"$MKBOOTMEDIA" --cache "$cache" check r.yml >plan.txt 2>"$WORK/stderr" ||
		{ cat "$WORK/stderr" >&2; fail "check ($suite $variant)"; }
	awk '/^packages:/ { p = 1; next } /^[^ ]/ { p = 0 } p && /^  / { print $1, $2 }' \
		plan.txt | sort
}

# compare LABEL APT-FILE MKBM-FILE: the differences, one a line, "LABEL: apt-only NAME VER",
# "LABEL: mkbootmedia-only NAME VER", "LABEL: version NAME APT-VER MKBM-VER".
compare() {
	join -a1 -a2 -e - -o 0,1.2,2.2 "$2" "$3" | awk -v l="$1" '
		$2 == "-" { print l ": mkbootmedia-only " $1 " " $3; next }
		$3 == "-" { print l ": apt-only " $1 " " $2; next }
		$2 != $3 { print l ": version " $1 " " $2 " " $3 }'
}

# unexplained FILE: the lines no pattern of explained.txt matches.
unexplained() {
	grep -v '^#' "$CASE/explained.txt" | grep -v '^$' | cut -f1 >patterns
	grep -v -E -f patterns "$1" || true
}

: >diffs.txt
total=0
for suite in bookworm trixie; do
	dhcp=dhcpcd-base
	[ $suite = bookworm ] && dhcp=isc-dhcp-client
	common="linux-image-amd64 openssh-server sudo ifupdown $dhcp locales"
	for variant in minbase important; do
		for init in systemd-sysv sysvinit-core; do
			l="$suite $variant $init"
			# important holds systemd-sysv (Priority: important), which conflicts with
			# sysvinit-core: apt is told to leave it out ("name-"), mkbootmedia, which
			# does not read Conflicts, excludes it.
			ex=
			[ $variant/$init = important/sysvinit-core ] && ex=systemd-sysv
			# shellcheck disable=SC2086
			apt_set $suite $variant $common $init >apt.txt
			# shellcheck disable=SC2086
			mkbm_set $suite $variant "" "$ex" $common $init >mkbm.txt
			n=$(wc -l <apt.txt)
			[ "$n" -gt 50 ] || fail "$l: apt chose only $n packages"
			total=$((total + n))
			compare "$l" apt.txt mkbm.txt >>diffs.txt
			echo "$l: apt $(wc -l <apt.txt), mkbootmedia $(wc -l <mkbm.txt) packages" >>counts.txt
		done
	done
done
# The recipes' way: provides: [linux-initramfs-tool] (mkbootmedia makes the initrd) leaves
# initramfs-tools and what only it needs out.
provides=linux-initramfs-tool
# shellcheck disable=SC2086
mkbm_set trixie minbase "" "" $common sysvinit-core >mkbm.txt
provides=
# shellcheck disable=SC2086
apt_set trixie minbase $common sysvinit-core >apt.txt
compare "trixie minbase sysvinit-core provides" apt.txt mkbm.txt >>diffs.txt
grep -q 'provides: apt-only initramfs-tools ' diffs.txt || fail "provides: initramfs-tools still chosen"
cat counts.txt
echo "differences ($(wc -l <diffs.txt)):"
cat diffs.txt
unexplained diffs.txt >bad.txt
[ ! -s bad.txt ] || fail "differences from apt that explained.txt does not explain:
$(cat bad.txt)"

# The comparison can fail: prefer steers cron-daemon-common's alternative away from systemd
# on trixie, which apt (given no such preference) does not do.
ex=
apt_set trixie minbase sysvinit-core cron >apt.txt
mkbm_set trixie minbase systemd-standalone-sysusers "" sysvinit-core cron >mkbm.txt
grep -q '^systemd-standalone-sysusers ' mkbm.txt || fail "prefer did not pick systemd-standalone-sysusers"
grep -q '^systemd ' mkbm.txt && fail "prefer: systemd still in the set"
grep -q '^systemd ' apt.txt || fail "apt did not choose systemd for cron-daemon-common"
compare "trixie prefer" apt.txt mkbm.txt >d2.txt
unexplained d2.txt >bad2.txt
grep -q 'mkbootmedia-only systemd-standalone-sysusers' bad2.txt ||
	fail "the steered difference was taken as explained: $(cat d2.txt)"
