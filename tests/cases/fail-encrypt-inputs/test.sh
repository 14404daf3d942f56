# Bad input for encryption, each refused with one clear message before anything is
# written, and no image left: a missing or empty passphrase file, an unknown cipher, a key
# size the cipher does not take, an encrypted /boot, a root on the encrypted /boot's
# partition with grub-bios, a partition too small for the header, no passphrase source
# without a terminal, a bad --passphrase-fd, and bad values of every encrypt key.
printf 'pass phrase' >pass
: >empty
recipe() { # extra keys for encrypt:, then the mount of the encrypted partition
	cat >r.yml <<YAML
image: {size: 64MiB, table: msdos}
partitions:
  - {name: boot, size: 16MiB, filesystem: {type: ext2, label: B, mount: /boot}}
  - name: root
    size: "\${root_size}"
    encrypt: {passphrase-file: pass, pbkdf-time: 50, pbkdf-memory: 8MiB $1}
    filesystem: {type: ext2, label: R, mount: ${2:-/}}
  - {name: data, size: rest, filesystem: {type: ext2, label: D, mount: /data}}
variables: {root_size: 40MiB}
${3:-}
YAML
}

recipe ""
sed -i 's/passphrase-file: pass,/passphrase-file: nonexistent,/' r.yml
expect_fail "nonexistent" r.yml -o out/x.img
expect_fail "nonexistent" check r.yml
recipe ""
sed -i 's/passphrase-file: pass,/passphrase-file: empty,/' r.yml
expect_fail "is empty" r.yml -o out/x.img
recipe ", cipher: twofish-xts-plain64"
expect_fail "unsupported cipher 'twofish-xts-plain64' (supported: aes-xts-plain64, aes-cbc-essiv:sha256, aes-cbc-plain64)" check r.yml
grep -q "r.yml:6:" "$WORK/stderr" || fail "no position: $(cat "$WORK/stderr")"
recipe ", key-size: 384"
expect_fail "a 384-bit key does not fit cipher 'aes-xts-plain64' (key bits: 256, 512)" check r.yml
recipe "" /boot
sed -i 's|mount: /boot}}|mount: /}}|; 0,/mount: \/data}}/s|mount: /data}}|mount: /data}}|' r.yml
expect_fail "an encrypted /boot is not supported" r.yml -o out/x.img
# The root encrypted, no /boot of its own: GRUB would have to read the encrypted root.
recipe "" / "bootloader: {grub: host}"
sed -i 's|label: B, mount: /boot}|label: B, mount: /srv}|' r.yml
expect_fail "which is encrypted: that is not supported" check r.yml
recipe ""
expect_fail "too small for luks2" r.yml -o out/x.img -D root_size=16MiB
# No passphrase from anywhere, and no terminal to ask on.
recipe ""
sed -i 's/passphrase-file: pass, //' r.yml
expect_fail "passphrase-fd" r.yml -o out/x.img </dev/null
expect_fail "--passphrase-fd '99': expected an open file descriptor" r.yml -o out/x.img --passphrase-fd 99
: >emptyfd
expect_fail "empty" r.yml -o out/x.img --passphrase-fd 3 3<emptyfd

for bad in "format: luks3|luks3" \
	"passphrase-env: 'A B'|is not an environment variable name" \
	"keyfile-in-initrd: true|keyfile-in-initrd needs a keyfile" \
	"sector-size: 1000|a sector size is 512, 1024, 2048 or 4096" \
	"format: luks1, sector-size: 4096|luks1 uses 512-byte sectors" \
	"format: luks1, pbkdf: argon2id|LUKS1 uses pbkdf2" \
	"pbkdf: scrypt|scrypt" \
	"mapper-name: 'a/b'|is not a device-mapper name" \
	"format: luks1, label: x|only LUKS2 has a label" \
	"format: plain, keyfile: empty|plain mode has one key" \
	"cipher: aes-cbc-essiv:sha256, key-size: 512|a 512-bit key does not fit cipher 'aes-cbc-essiv:sha256' (key bits: 128, 192, 256)"; do
	recipe ", ${bad%%|*}"
	expect_fail "${bad#*|}" check r.yml
	grep -q "r.yml:[0-9]*:[0-9]*:" "$WORK/stderr" || fail "no position for '${bad%%|*}': $(cat "$WORK/stderr")"
	grep -q duplicate "$WORK/stderr" && fail "'${bad%%|*}' clashes with the base recipe"
done
# shred takes none, zero or random.
recipe ""
sed -i 's|  - {name: data, size: rest,|  - {name: data, size: rest, shred: sometimes,|' r.yml
expect_fail "sometimes" check r.yml
recipe ""
sed -i 's/pbkdf-memory: 8MiB/pbkdf-memory: 1KiB/' r.yml
expect_fail "Argon2's memory is from 32 KiB to 4 GiB" check r.yml
recipe ""
sed -i 's/pbkdf-time: 50/pbkdf-time: 0/' r.yml
expect_fail "pbkdf-time" check r.yml
grep -q duplicate "$WORK/stderr" && fail "a duplicate key, not the value, was refused"
true
