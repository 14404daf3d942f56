# An untrusted recipe must not be able to copy a host file into the log (CI logs are often
# public): an "include" of a file like /etc/shadow, whose lines parse as YAML keys, is refused
# as a whole without its text, and values shown in messages are cut short and escaped.
secret='S3cretSaltS3cretHashValueThatMustNotLeak'
printf 'root:$y$j9T$%s:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n' "$secret" >shadow
printf 'include: [shadow]\n' >inc.yml
for args in "check inc.yml" "inc.yml -o out/x.img"; do
	# shellcheck disable=SC2086
	expect_fail "shadow:1:1: not a recipe: line 1 holds no recipe key" $args
	! grep -q "$secret\|daemon" "$WORK/stderr" || { cat "$WORK/stderr" >&2; fail "the file's text is in the message"; }
done

# A 1 MB value, with a terminal escape: the message holds 64 bytes of it, escaped.
{ printf 'image: {size: "\\e[2J'; head -c 1000000 /dev/zero | tr '\0' 9; printf '"}\n'; } >big.yml
expect_fail "big.yml:1:15: image.size: '\\x1b[2J9999" check big.yml
[ "$(wc -c <"$WORK/stderr")" -lt 300 ] || fail "message of $(wc -c <"$WORK/stderr") bytes"
! grep -q "$(printf '\033')" "$WORK/stderr" || fail "a raw escape character in the message"
