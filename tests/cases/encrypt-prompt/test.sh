# With no passphrase source in the recipe or on the command line, the passphrase is asked
# twice on the terminal (a pty from script(1) here), with echo off: the same text twice
# makes a header it opens; two different texts stop the build with nothing left.
cat >r.yml <<'YAML'
image: {size: 40MiB, table: msdos}
partitions:
  - name: root
    size: rest
    encrypt: {pbkdf-time: 50, pbkdf-memory: 8MiB}
    filesystem: {type: ext2, label: R, mount: /}
YAML
(sleep 1; printf 'typed at the prompt\n'; sleep 0.5; printf 'typed at the prompt\n') |
	script -qec "$MKBOOTMEDIA -q r.yml -o out/t.img" /dev/null >tty.out 2>&1 ||
	{ cat tty.out; fail "build with the prompt"; }
grep -q "Passphrase for partition 'root':" tty.out || fail "no prompt: $(cat tty.out)"
grep -q "Verify passphrase" tty.out || fail "not asked twice"
grep -q "typed at the prompt" tty.out && fail "the passphrase was echoed"
part_extract out/t.img 1 p.enc
printf 'typed at the prompt' >k
cryptsetup open --test-passphrase --disable-locks --key-file k p.enc || fail "the typed passphrase does not open it"

(sleep 1; printf 'one\n'; sleep 0.5; printf 'two\n') |
	script -qec "$MKBOOTMEDIA -q r.yml -o out/u.img" /dev/null >tty2.out 2>&1 &&
	fail "different passphrases were accepted"
grep -q "do not match" tty2.out || fail "no mismatch message: $(cat tty2.out)"
[ ! -e out/u.img ] || fail "an image was left"
ls out | grep >/dev/null -c tmp && fail "a temporary file was left"
true
