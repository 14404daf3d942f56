# Real packages from Debian's mirror: bookworm minbase, verified and unpacked into ext2, must
# match `mmdebstrap --variant=extract` of the same package list (with debootstrap's
# merged-/usr hook) entry by entry: path, type, mode, owner, size, symlink target; except
# the paths the recipe filters out, the dpkg database (which mmdebstrap's extract variant
# does not write), the filters as dpkg configuration (/etc/dpkg/dpkg.cfg.d/mkbootmedia,
# checked on its own) and what mmdebstrap's own setup adds. Downloads are cached across runs in
# $MKBOOTMEDIA_TEST_CACHE (default /var/cache/mkbootmedia-tests, or ~/.cache when that is
# not writable).
cache=${MKBOOTMEDIA_TEST_CACHE:-/var/cache/mkbootmedia-tests}
mkdir -p "$cache" 2>/dev/null && [ -w "$cache" ] || cache=$HOME/.cache/mkbootmedia-tests
cat >recipe.yml <<'YAML'
image: {size: 1GiB, seed: minbase}
partitions:
  - {name: root, size: rest, filesystem: {type: ext2, label: ROOT, mount: /}}
fstab: false
flash: false
packages:
  suite: bookworm
  variant: minbase
  path-exclude: [/usr/share/doc/*, /usr/share/man/*, /usr/share/locale/*]
  path-include: [/usr/share/doc/*/copyright]
  configure: none    # compared with an unpacked root (configure-compare: a configured one)
YAML
"$MKBOOTMEDIA" check --cache "$cache" recipe.yml >plan.txt 2>"$WORK/stderr" || { cat "$WORK/stderr"; fail "check"; }
sed -n '/^packages:/,/^[a-z]/p' plan.txt | awk '/^  / { print $1 }' >list.txt
n=$(wc -l <list.txt)
[ "$n" -gt 60 ] || fail "minbase resolved to only $n packages"
grep -qx usr-is-merged list.txt || fail "usr-is-merged not chosen"
grep -qx usrmerge list.txt && fail "usrmerge chosen"
grep -qx apt list.txt || fail "minbase lacks apt"
mkbm --cache "$cache" recipe.yml -o out/m.img || { cat "$WORK/stderr"; fail "build"; }
part_extract out/m.img 1 root.fs
fsck_clean root.fs
cat_file root.fs /var/lib/dpkg/status | sed -n 's/^Package: //p' >status.txt
expect_eq "$(sort status.txt | tr '\n' ' ')" "$(sort list.txt | tr '\n' ' ')" "dpkg status lists every package"
expect_eq "$(grep -c '^Status: install ok unpacked$' <(cat_file root.fs /var/lib/dpkg/status))" "$n" "every package unpacked"

mmdebstrap --quiet --variant=extract --include="$(paste -sd, list.txt)" \
	--setup-hook=/usr/share/mmdebstrap/hooks/merged-usr/setup00.sh \
	bookworm "$WORK/mm" "deb http://deb.debian.org/debian bookworm main" \
	"deb http://deb.debian.org/debian bookworm-updates main" \
	"deb http://deb.debian.org/debian-security bookworm-security main" \
	>mm.log 2>&1 || { tail mm.log; fail "mmdebstrap"; }

# What the recipe filters out (dpkg's rule, as in the recipe) and what only one side makes.
filtered() {
	while read -r path type rest; do
		case $path in
		/usr/share/doc/*/copyright) ;;
		/usr/share/doc/* | /usr/share/man/* | /usr/share/locale/*)
			[ "$type" = d ] || [ "$type" = l ] || continue
			case $path in /usr/share/doc*) ;; *) continue ;; esac ;;
		esac
		echo "$path $type $rest"
	done
}
setup='^/(dev/|lost\+found|var/lib/dpkg/|etc/(apt/sources\.list|fstab|hostname|resolv\.conf|dpkg/dpkg\.cfg\.d/mkbootmedia) )|^/var/(cache/apt/archives|lib/apt/lists)/(lock|partial) '
dir_list "$WORK/mm" | filtered | grep -Ev "$setup" >mm.txt
fs_list root.fs | grep -Ev "$setup" >ours.txt
[ "$(wc -l <mm.txt)" -gt 3000 ] || fail "mmdebstrap's listing is too short"
diff mm.txt ours.txt >diff.txt || { head -n 40 diff.txt; fail "the image differs from mmdebstrap --variant=extract"; }
grep -q '^/usr/share/doc/bash/copyright f' ours.txt || fail "copyright kept"
grep -q '^/usr/share/man/' ours.txt && fail "man pages not filtered"
grep -q '^/usr/bin/chfn f 4755 0 0 ' ours.txt || fail "setuid chfn"
expect_eq "$(cat_file root.fs /etc/dpkg/dpkg.cfg.d/mkbootmedia | grep -v '^#' | tr '\n' ' ')" \
	"path-exclude=/usr/share/doc/* path-exclude=/usr/share/man/* path-exclude=/usr/share/locale/* path-include=/usr/share/doc/*/copyright " \
	"the filters for the image's dpkg"
true
