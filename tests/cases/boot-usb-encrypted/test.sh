# examples/usb-encrypted.yml, the seed's encrypted key, boots in QEMU under TCG: the
# passphrase is typed on the serial console, a wrong one first (rejected, asked again),
# and the root comes from /dev/mapper/rootfs. The hostname (in the encrypted root) is
# nowhere in the image in clear; the header passes luksDump; the menu has the seed's three
# entries; and `boot --passphrase-file --test` passes the test: section under OVMF with
# Secure Boot enforcing (the key is hybrid: the ESP and /boot stay in clear, shim and GRUB
# are Debian's signed ones, the initramfs unlocks the root as under BIOS). The BIOS boot is
# from a copy on a 3 GiB medium: the initramfs grows the partition, then (opened) its ext2;
# checked on the host with sfdisk, luksDump, the decrypted e2fsck and dumpe2fs.
# The root is configured through the user namespace (FUSE over the encrypting I/O
# channel): a marker a run: step writes there is nowhere in the image or in the build's
# temporary directory, and is in the decrypted filesystem.
# (unlock_ms=200 keeps each try short under TCG; serial_getty gives a shell at the
# login prompt, as in boot-usb-debian.)
ex=$CASE/../../../examples/usb-encrypted.yml
cache=$(test_cache)
printf 'the seed said 5 tries' >pass
host=host$(od -An -N6 -tx1 /dev/urandom | tr -d ' ')
mkdir tmp
TMPDIR=$WORK/tmp mkbm --cache "$cache" "$CASE/recipe.yml" -o out/e.img -D grub_timeout=0 -D unlock_ms=200 -D hostname="$host" \
	-D serial_getty='/sbin/agetty -L -l /bin/sh -o -l ttyS0 115200 vt100' \
	--passphrase-fd 3 3<pass || { cat "$WORK/stderr"; fail "build"; }
grep -q -a "$host" out/e.img && fail "the hostname is in the image in clear"
grep -q -a "the seed said" out/e.img && fail "the passphrase is in the image"
grep -q "run: marker" "$WORK/stderr" || fail "the run: step did not run"
grep -rqa "MKB-PLAINTEXT-42-MARKER" out tmp && fail "the marker is in clear in the output or tmp"
[ "$(ls -A out | tr '\n' ' ')" = "e.img e.img.bmap " ] || fail "left in out/: $(ls -A out)"
[ -z "$(ls -A tmp)" ] || fail "left in TMPDIR: $(ls -A tmp)"
part_extract out/e.img 1 esp.fs
part_extract out/e.img 2 boot.fs
part_extract out/e.img 3 root.enc
fsck.fat -n esp.fs >fsck.out 2>&1 || { cat fsck.out; fail "fsck.fat -n on the ESP"; }
mdir -i esp.fs -b ::/EFI/BOOT | grep -qx '::/EFI/BOOT/BOOTX64.EFI' || fail "no BOOTX64.EFI"
fsck_clean boot.fs
cryptsetup luksDump root.enc >dump || fail "luksDump"
grep -q '^Label:\s*PRIVDEB_CRYPT' dump || fail "LUKS2 label: $(head -12 dump)"
cryptsetup open --test-passphrase --disable-locks --key-file pass root.enc || fail "passphrase"
decrypt_volume luks2 pass root.enc root.fs
fsck_clean root.fs
expect_eq "$(cat_file root.fs /root/marker.txt)" "MKB-PLAINTEXT-42-MARKER" "the marker, decrypted"
cat_file root.fs /var/lib/dpkg/status | grep >/dev/null -c '^Status: install ok installed$' ||
	fail "not configured"
rm root.enc root.fs
cfg=$(cat_file boot.fs /grub/grub.cfg)
expect_eq "$(grep '^menuentry' <<<"$cfg" | cut -d"'" -f2 | sed -E 's/, Linux [0-9][^ ,]*/, Linux V/' | paste -sd,)" \
	"Debian GNU/Linux 12 (bookworm), Linux V,Debian GNU/Linux 12 (bookworm), Linux V (single-user mode),Memtest86+" \
	"the seed's menu"

# The first boot from a 3 GiB medium grows the encrypted root to its end (partitions[].grow).
old=$(part_field out/e.img 3 size)
cp --sparse=always out/e.img big.img
truncate -s 3G big.img
"$MKBOOTMEDIA" boot big.img --write --timeout 400 --log console.log --passphrase-file pass \
	--expect 'Passphrase for rootfs' --send 'not it\n' \
	--expect 'wrong passphrase \(1 of 5\)' \
	--expect 'Passphrase for rootfs' --send-passphrase \
	--expect 'opened as /dev/mapper/rootfs' --expect 'login: ?$' --send 'root\n' \
	--run 'grep " / " /proc/mounts' --output '^/dev/mapper/rootfs / ext2 ' \
	--run 'cat /etc/hostname' --output "^$host\$" \
	--run 'readlink /etc/mtab; readlink /etc/blkid.tab' --output '^/proc/mounts
/dev/null$' \
	--poweroff >boot.out 2>&1 || { cat boot.out; tail -c 3000 console.log; fail "boot"; }
grep -q "the seed said" console.log && fail "the passphrase was echoed on the console"
grep -q "grow: /dev/mapper/rootfs: .*is now" console.log || fail "the root's filesystem did not grow: $(grep grow: console.log)"
start=$(part_field big.img 3 start)
size=$(part_field big.img 3 size)
[ $((start + size)) -gt $((3 * 2097152 - 4096)) ] && [ "$size" -gt "$old" ] ||
	fail "partition 3 ($start+$size sectors, was $old) does not reach the 3 GiB end"
part_extract big.img 3 root.enc
cryptsetup luksDump root.enc | grep -q 'length: (whole device)' || fail "the LUKS2 segment is not dynamic"
decrypt_volume luks2 pass root.enc root.fs
fsck_clean root.fs
blocks=$(dumpe2fs -h root.fs 2>/dev/null | awk -F: '/^Block count/ { print $2 + 0 }')
bsize=$(dumpe2fs -h root.fs 2>/dev/null | awk -F: '/^Block size/ { print $2 + 0 }')
[ $((blocks * bsize / 512)) -gt $((size - 40960)) ] ||
	fail "the filesystem ($blocks blocks of $bsize) does not fill the grown partition ($size sectors)"
rm -f root.enc root.fs big.img
# As the README says CI should: the recipe's test: section, the prompt answered from the file;
# here through UEFI with Secure Boot enforcing.
"$MKBOOTMEDIA" boot --firmware uefi-secure --passphrase-file pass --test "$CASE/recipe.yml" \
	out/e.img --log test.log >test.out 2>&1 ||
	{ cat test.out; tail -c 3000 test.log; fail "boot --test with --passphrase-file under UEFI"; }
grep -q "opened as /dev/mapper/rootfs" test.log || fail "not opened by --passphrase-file"
grep -q "SecureBoot: 1" test.log || fail "Secure Boot was not on: $(grep SecureBoot test.log)"
true
