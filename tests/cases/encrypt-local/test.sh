# Encrypted roots on a made-up kernel (no network, no QEMU), in each format: the header
# passes cryptsetup luksDump and opens with the passphrase (and the keyfile), not with a
# wrong one; the partition decrypted without our code passes e2fsck and holds what the
# recipe wrote; a marker in the encrypted root is nowhere in the image, a marker in /boot
# is; the passphrase is nowhere either; free space is random (no zero sectors); the initrd
# carries cryptsetup, the dm-crypt modules and the LUKS UUID.
mkdir -p debs
fake_kernel debs
fake_cryptsetup debs
# dm-crypt and a cipher for the made-up kernel.
k=$(mktemp -d "$WORK/dm.XXXXXX")
mkdir -p "$k/lib/modules/1.0-test/kernel/drivers/md" "$k/lib/modules/1.0-test/kernel/crypto"
for spec in drivers/md/dm-crypt:dm-mod drivers/md/dm-mod: crypto/xts: crypto/ecb:; do
	path=${spec%%:*} deps=${spec#*:}
	printf '__attribute__((section(".modinfo"), used)) static const char mi[] = "depends=%s\\0";\n' "$deps" >"$k/m.c"
	gcc -c -o "$k/lib/modules/1.0-test/kernel/$path.ko" "$k/m.c"
done
rm "$k/m.c"
mkdeb debs linux-modules-dm-1.0-test 1 "$k"
printf 'correct horse battery staple' >pass
chmod 600 pass
head -c 4096 /dev/urandom >keyfile
marker=ROOT-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
bmarker=BOOT-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')

cat >recipe.yml <<YAML
variables: {format: luks2}
image: {size: 56MiB, table: msdos, seed: encrypt-local}
partitions:
  - {name: boot, size: 16MiB, bootable: true, filesystem: {type: ext2, label: LBOOT, mount: /boot}}
  - name: rootfs
    size: rest
    encrypt: {format: "\${format}", passphrase-file: pass, pbkdf-time: 50, pbkdf-memory: 8MiB}
    filesystem: {type: ext2, label: LROOT, mount: /}
packages: {mirror: none, variant: none, debs: [debs],
           include: [linux-image-1.0-test, linux-modules-dm-1.0-test, busybox-static, cryptsetup-bin]}
bootloader: {timeout: 0, grub: host}
files:
  - {path: /etc/marker, content: "$marker\n"}
  - {path: /boot/README, content: "$bmarker\n"}
YAML

for fmt in luks2 luks1 plain; do
	rm -f out/e.img
	extra=
	[ $fmt = luks2 ] && extra="-D keyfile=1"
	mkbm recipe.yml -o out/e.img -D format=$fmt -vv || { cat "$WORK/stderr"; fail "$fmt build"; }
	grep -q "correct horse" "$WORK/stderr" && fail "$fmt: the passphrase is in the log"
	part_extract out/e.img 2 root.enc
	part_extract out/e.img 1 boot.fs
	if [ $fmt != plain ]; then
		cryptsetup luksDump root.enc >dump || fail "$fmt: luksDump"
		cryptsetup open --test-passphrase --disable-locks --key-file pass root.enc ||
			fail "$fmt: the passphrase does not open the header"
		printf 'wrong\n' >wrong
		cryptsetup open --test-passphrase --disable-locks --key-file wrong root.enc 2>/dev/null &&
			fail "$fmt: a wrong passphrase opens the header"
	fi
	case $fmt in
	luks2)
		grep -q '^Version:\s*2' dump || fail "luks2: $(head -3 dump)"
		grep -q 'cipher: aes-xts-plain64' dump || fail "luks2 cipher"
		grep -q 'sector: 4096 \[bytes\]' dump || fail "luks2 sector size"
		grep -q 'PBKDF:\s*argon2id' dump || fail "luks2 pbkdf"
		mem=$(sed -n 's/^\s*Memory:\s*\([0-9]*\)/\1/p' dump | awk 'NR == 1')
		[ "$mem" -le 8192 ] || fail "argon2 memory $mem KiB above the cap"
		;;
	luks1)
		grep -q '^Version:\s*1' dump || fail "luks1: $(head -3 dump)"
		grep -q 'Cipher mode:\s*xts-plain64' dump || fail "luks1 cipher"
		;;
	esac
	# No plaintext of the root, nor the passphrase, in the image; /boot's is there.
	grep -q -a "$bmarker" out/e.img || fail "$fmt: the /boot marker is missing"
	grep -q -a "$marker" out/e.img && fail "$fmt: the root's marker is in the image in clear"
	grep -q -a "correct horse" out/e.img && fail "$fmt: the passphrase is in the image"
	grep -q -a "lost+found" root.enc && fail "$fmt: directory names of the root in clear"
	decrypt_volume $fmt pass root.enc root.fs
	fsck_clean root.fs
	expect_eq "$(cat_file root.fs /etc/marker)" "$marker" "$fmt: /etc/marker decrypted"
	expect_eq "$(sb_field root.fs 'Filesystem volume name')" LROOT "$fmt: root label"
	cat_file root.fs /etc/fstab | grep >/dev/null -c '^/dev/mapper/rootfs ' || fail "$fmt: fstab"
	cat_file root.fs /etc/crypttab | grep >/dev/null -c "^rootfs	" || fail "$fmt: crypttab"
	# The free space of the encrypted partition is random data: no zero sectors.
	z=$(zero_sectors root.enc)
	if [ $fmt = luks2 ]; then
		# The LUKS2 header area (16 MiB) has its own zero padding: count only the data.
		dd if=root.enc of=data.enc bs=1M skip=16 status=none
		z=$(zero_sectors data.enc)
	elif [ $fmt = luks1 ]; then
		dd if=root.enc of=data.enc bs=1M skip=2 status=none
		z=$(zero_sectors data.enc)
	fi
	expect_eq "$z" 0 "$fmt: zero sectors in the encrypted data area"
	# The initrd opens it: cryptsetup, dm-crypt, the UUID or the partition's place.
	ver=1.0-test
	dbg boot.fs "dump /initrd.img-$ver initrd.img"
	list=$(zstd -dc initrd.img | cpio -it 2>/dev/null)
	for f in usr/sbin/cryptsetup lib/modules/$ver/kernel/drivers/md/dm-crypt.ko \
		lib/modules/$ver/kernel/drivers/md/dm-mod.ko lib/modules/$ver/kernel/crypto/xts.ko \
		lib/modules/$ver/kernel/crypto/ecb.ko; do
		grep -qx "$f" <<<"$list" || fail "$fmt: $f not in the initrd"
	done
	conf=$(zstd -dc initrd.img | cpio -i --to-stdout etc/initrd.conf 2>/dev/null)
	expect_match "$conf" "^ROOT='/dev/mapper/rootfs'$" "$fmt: initrd root"
	if [ $fmt = plain ]; then
		expect_match "$conf" "^CRYPT_SOURCE='PART=LBOOT:2'$" "plain: initrd source"
		expect_match "$conf" "^CRYPT_OPTS='--cipher aes-cbc-essiv:sha256 --key-size 256 --hash ripemd160'$" "plain opts"
	else
		uuid=$(cryptsetup luksUUID root.enc)
		expect_match "$conf" "^CRYPT_SOURCE='LUKS=$uuid'$" "$fmt: initrd source"
	fi
	grep -q keys/ <<<"$list" && fail "$fmt: a key file in the initrd nobody asked for"
	cfg=$(cat_file boot.fs /grub/grub.cfg)
	expect_match "$cfg" "root=/dev/mapper/rootfs ro" "$fmt: kernel command line"
	rm -f root.enc root.fs data.enc boot.fs initrd.img
done

# A keyfile: a second key slot, and in the initrd only when asked (with a warning).
sed -i 's|passphrase-file: pass,|passphrase-file: pass, keyfile: keyfile, keyfile-in-initrd: true,|' recipe.yml
mkbm recipe.yml -o out/k.img || { cat "$WORK/stderr"; fail "keyfile build"; }
grep -q "warning: partition 'rootfs': its keyfile goes into the initrd" "$WORK/stderr" ||
	fail "no warning for keyfile-in-initrd: $(cat "$WORK/stderr")"
part_extract out/k.img 2 root.enc
part_extract out/k.img 1 boot.fs
cryptsetup open --test-passphrase --disable-locks --key-file keyfile root.enc || fail "the keyfile does not open it"
cryptsetup open --test-passphrase --disable-locks --key-file pass root.enc || fail "the passphrase does not open it"
dbg boot.fs "dump /initrd.img-1.0-test initrd.img"
zstd -dc initrd.img | cpio -i --to-stdout etc/keys/rootfs.key 2>/dev/null | cmp - keyfile || fail "keyfile in the initrd"
# The target's initramfs generator keeps its copy inside the encrypted root, root's only.
decrypt_volume luks2 pass root.enc kroot.fs
expect_eq "$(stat_field kroot.fs /usr/lib/mkbootmedia/initrd/etc/keys)" "0700 0 0 directory" "the key's directory"
expect_eq "$(stat_field kroot.fs /usr/lib/mkbootmedia/initrd/etc/keys/rootfs.key)" "0400 0 0 regular" "the key's copy"
cat_file kroot.fs /usr/lib/mkbootmedia/initrd/etc/keys/rootfs.key | cmp - keyfile || fail "the key's copy differs"

# The passphrase from a file descriptor and from the environment.
sed -i 's|passphrase-file: pass, keyfile: keyfile, keyfile-in-initrd: true,||' recipe.yml
mkbm recipe.yml -o out/f.img --passphrase-fd 3 3<pass || { cat "$WORK/stderr"; fail "--passphrase-fd"; }
part_extract out/f.img 2 f.enc
cryptsetup open --test-passphrase --disable-locks --key-file pass f.enc || fail "--passphrase-fd: wrong key"
sed -i 's|encrypt: {format: "${format}",|encrypt: {format: "${format}", passphrase-env: MKB_TEST_PASS,|' recipe.yml
MKB_TEST_PASS='env pass phrase' mkbm recipe.yml -o out/v.img || { cat "$WORK/stderr"; fail "passphrase-env"; }
part_extract out/v.img 2 v.enc
printf 'env pass phrase' >envpass
cryptsetup open --test-passphrase --disable-locks --key-file envpass v.enc || fail "passphrase-env: wrong key"
