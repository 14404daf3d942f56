# Paths from the recipe reach `check`'s plan with their control characters escaped: an
# escape sequence (ESC [2J clears the screen) or a newline in a name never gets to the
# terminal as such.
cat >recipe.yml <<'YAML'
image: {size: 64MiB}
partitions: [{name: root, size: rest, filesystem: {type: ext2, mount: /}}]
files:
  - {path: "/etc/a\e[2Jb\nc", content: "x"}
  - {path: /etc/l, symlink: "/x\e]0;title\a"}
YAML
"$MKBOOTMEDIA" check recipe.yml >plan.txt 2>err.txt || { cat err.txt; fail "check"; }
grep -q "$(printf '\033')" plan.txt && fail "an ESC byte in the plan"
grep -q "$(printf '\007')" plan.txt && fail "a BEL byte in the plan"
grep -Fqx '  /etc/a\x1b[2Jb\nc (file)' plan.txt || { cat plan.txt; fail "the path, escaped"; }
grep -Fqx '  /etc/l (symlink to /x\x1b]0;title\x07)' plan.txt || { cat plan.txt; fail "the target, escaped"; }
