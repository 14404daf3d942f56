# make install DESTDIR=... PREFIX=/usr: the binary, the shared data, man pages that render
# without warnings, bash and zsh completion that load and know the commands, options and
# values; make uninstall removes all of it. The docs come from the binary's tables.
top=$(dirname "$MKBOOTMEDIA")
dest=$WORK/dest
make -s -C "$top" install DESTDIR="$dest" PREFIX=/usr >make.log 2>&1 ||
	{ cat make.log; fail "make install"; }
for f in usr/bin/mkbootmedia usr/share/man/man1/mkbootmedia.1 \
	usr/share/man/man5/mkbootmedia-recipe.5 usr/share/bash-completion/completions/mkbootmedia \
	usr/share/zsh/site-functions/_mkbootmedia usr/share/mkbootmedia/recipes/devices/usb-4g.yml \
	usr/share/mkbootmedia/recipes/fragments/flash-fstab.yml \
	usr/share/mkbootmedia/examples/usb-basic.yml usr/share/mkbootmedia/templates/init; do
	[ -f "$dest/$f" ] || fail "make install did not install /$f"
done
# The installed example finds its includes and overlays next to it.
"$dest/usr/bin/mkbootmedia" check "$dest/usr/share/mkbootmedia/examples/usb-basic.yml" >/dev/null

# The man pages: rendered by man-db with groff's warnings on, and they say what they must.
for page in man1/mkbootmedia.1 man5/mkbootmedia-recipe.5; do
	out=$(MANWIDTH=80 man --warnings -l "$dest/usr/share/man/$page" 2>warn.txt)
	[ ! -s warn.txt ] || { cat warn.txt; fail "man --warnings $page"; }
	[ -n "$out" ] || fail "$page renders empty"
done
man1=$(MANWIDTH=200 man -l "$dest/usr/share/man/man1/mkbootmedia.1" 2>/dev/null)
for want in '^EXIT STATUS' '^ENVIRONMENT' '^FILES' '^EXAMPLES' '--passphrase-fd N' \
	'--bus usb\|ide\|virtio' '--accel auto\|kvm\|tcg' 'SOURCE_DATE_EPOCH' \
	'mkbootmedia boot IMAGE'; do
	grep -Eq -e "$want" <<<"$man1" || fail "mkbootmedia(1) lacks '$want'"
done
# Every option the program's help lists is in the man page (one source: both come from cli.c).
for cmd in build check boot; do
	"$MKBOOTMEDIA" help $cmd | grep -Eo -- '--[a-z-]+' | sort -u | while read -r opt; do
		grep -q -- "$opt" <<<"$man1" || fail "mkbootmedia(1) lacks $opt (help $cmd has it)"
	done
done

# bash: the completion loads and completes commands, options and --bus values.
comp=$dest/usr/share/bash-completion/completions/mkbootmedia
bash -c "source '$comp'; complete -p mkbootmedia" >c.txt || fail "bash completion does not load"
grep -q -- '-F _mkbootmedia mkbootmedia' c.txt || fail "complete -p: $(cat c.txt)"
# The words bash completes for the command line "$@" (its last word is the one completed).
complete_words() {
	bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mkbootmedia
		printf "%s\n" "${COMPREPLY[@]}"' complete "$comp" mkbootmedia "$@" | sort | tr '\n' ' '
}
expect_eq "$(complete_words boot --bus '')" "ide usb virtio " "bash: boot --bus"
expect_eq "$(complete_words boot --accel '')" "auto kvm tcg " "bash: boot --accel"
expect_eq "$(complete_words ch)" "check " "bash: commands"
expect_eq "$(complete_words check --se)" "--seed " "bash: check's options"
expect_eq "$(complete_words boot --send-p)" "--send-passphrase " "bash: boot's options"
mkdir -p r && touch r/a.yml r/b.yaml r/c.img
expect_eq "$(complete_words check r/)" "r/a.yml r/b.yaml " "bash: recipe files"
expect_eq "$(complete_words boot r/c)" "r/c.img " "bash: images"
# zsh: the completion parses, and declares what bash offers.
zsh -n "$dest/usr/share/zsh/site-functions/_mkbootmedia" || fail "zsh -n _mkbootmedia"
# zsh: an interactive zsh on a pseudo-terminal completes `mkbootmedia boot --bus <Tab>`.
cat >zsh-tab.zsh <<ZSH
zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z 'PS1="> "; fpath=($dest/usr/share/zsh/site-functions \$fpath); autoload -U compinit'
zpty -w z 'compinit -u; path=($dest/usr/bin \$path)'
zpty -w z \$'mkbootmedia boot --bus \t'
all=
for i in {1..50}; do
	sleep 0.2
	zpty -rt z out && all+=\$out
	[[ \$all == *virtio* ]] && break
done
print -r -- "\$all"
zpty -d z
ZSH
timeout 30 zsh -f zsh-tab.zsh >zsh-tab.out 2>&1 || true
grep -Eq 'ide +usb +virtio' zsh-tab.out || { cat -v zsh-tab.out; fail "zsh: boot --bus <Tab>"; }

# mkbootmedia-recipe(5) documents every key of every stage's table (and test:'s), as the
# Markdown reference does: both are made from the tables.
man5=$(MANWIDTH=300 man -l "$dest/usr/share/man/man5/mkbootmedia-recipe.5" 2>/dev/null)
keys=$("$MKBOOTMEDIA" doc markdown | sed -n 's/^| `\([^`]*\)` |.*/\1/p')
[ "$(wc -l <<<"$keys")" -gt 50 ] || fail "doc markdown lists only $(wc -l <<<"$keys") keys"
for k in $keys; do
	grep -qF -- "$k (" <<<"$man5" || fail "mkbootmedia-recipe(5) lacks $k"
done
expect_match "$man5" "test.steps\[\].expect" "man5 has test:'s keys"

make -s -C "$top" uninstall DESTDIR="$dest" PREFIX=/usr >make.log 2>&1 ||
	{ cat make.log; fail "make uninstall"; }
left=$(find "$dest" -type f)
[ -z "$left" ] || fail "make uninstall left: $left"
