# Per-device variants: a recipe includes examples/usb-debian.yml, which sets
# system.root-password: {hash: ...}, and gives {file: ...} instead; the includer's choice is
# the one used (check reads the password file it names), and a third file can switch back.
# Both alternatives in one file are still refused.
top=$(cd "$CASE/../../.." && pwd)
printf 'secret\n' >pw.txt
chmod 600 pw.txt
cat >mine.yml <<YAML
include: [$top/examples/usb-debian.yml]
system:
  root-password: {file: pw.txt}
YAML
mkbm check mine.yml >plan || { cat "$WORK/stderr" >&2; fail "check refused the override"; }

# the file: is the one used: a missing one is named at the includer's line
sed 's/pw.txt/missing.txt/' mine.yml >missing.yml
expect_fail "missing.yml:3:25: system.root-password.file: cannot read password file 'missing.txt'" \
	check missing.yml

# and back to a hash: the top file's is used (a bad one is refused where it is written)
printf 'include: [mine.yml]\nsystem: {root-password: {hash: "not a hash"}}\n' >back.yml
expect_fail "back.yml:2:32: system.root-password.hash: not a crypt(5) hash" check back.yml
printf 'include: [mine.yml]\nsystem: {root-password: {hash: "!"}}\n' >locked.yml
mkbm check locked.yml >plan || { cat "$WORK/stderr" >&2; fail "check refused hash over file"; }

# both in one file: refused as before
printf 'include: [mine.yml]\nsystem: {root-password: {hash: "!", file: pw.txt}}\n' >both.yml
expect_fail "both.yml:2:25: system.root-password: give either hash:" check both.yml
