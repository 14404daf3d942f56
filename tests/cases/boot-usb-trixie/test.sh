# examples/usb-trixie.yml: Debian 13 with systemd, configured through the user namespace,
# hybrid BIOS/UEFI. Offline (debugfs): the image holds no machine identity (machine-id
# "uninitialized", no SSH host keys, no random seed), the flash defaults are in place
# (journald volatile, the flash-writing timers masked). Then its test: section passes under
# OVMF with Secure Boot and under SeaBIOS: systemd "running" with no failed unit, dpkg
# clean, sshd active, SecureBoot read per firmware; and the two boots, each from a fresh
# copy (snapshot), made two different machine-ids and SSH host keys. The negative:
# identity: image keeps the build's machine-id in the image.
ex=$CASE/../../../examples/usb-trixie.yml
cache=$(test_cache)
mkbm --cache "$cache" "$ex" -o out/t.img --no-bmap -D grub_timeout=0 || { cat "$WORK/stderr"; fail "build"; }
part_extract out/t.img 3 root.fs
fsck_clean root.fs
expect_eq "$(cat_file root.fs /etc/machine-id)" "uninitialized" "machine-id in the image"
[ -z "$(dbg root.fs 'ls /etc/ssh' | grep -o 'ssh_host_[a-z0-9_]*key')" ] || fail "SSH host keys in the image"
dbg root.fs "stat /var/lib/systemd/random-seed" | grep -q Inode && fail "a random seed in the image"
expect_match "$(cat_file root.fs /etc/systemd/journald.conf.d/mkbootmedia-flash.conf)" \
	'^Storage=volatile$' "journald's storage"
expect_eq "$(symlink_target root.fs /etc/systemd/system/apt-daily.timer)" "/dev/null" "apt-daily masked"
expect_eq "$(symlink_target root.fs /etc/systemd/system/ssh.service.wants/mkbootmedia-ssh-host-keys.service)" \
	"/etc/systemd/system/mkbootmedia-ssh-host-keys.service" "the host key job"
expect_match "$(cat_file root.fs /usr/lib/os-release)" '^VERSION_CODENAME=trixie$' "os-release"

for fw in uefi-secure bios; do
	"$MKBOOTMEDIA" boot --firmware $fw --test "$ex" out/t.img --log $fw.log >$fw.out 2>&1 ||
		{ cat $fw.out; tail -c 3000 $fw.log; fail "boot --test on $fw"; }
	tr -d '\r' <$fw.log | grep -E '^[0-9a-f]{32}$' | head -n 1 >$fw.id
	tr -d '\r' <$fw.log | grep -Eo '^256 SHA256:[^ ]+' | head -n 1 >$fw.key
	[ -s $fw.id ] && [ -s $fw.key ] || fail "no machine-id or host key in the $fw log"
done
grep -q "SecureBoot: 1" uefi-secure.log || fail "Secure Boot was not on under uefi-secure"
cmp -s uefi-secure.id bios.id && fail "two copies share a machine-id: $(cat bios.id)"
cmp -s uefi-secure.key bios.key && fail "two copies share an SSH host key: $(cat bios.key)"

# identity: image keeps what configure made (every copy then shares it).
printf 'include: [%s]\nidentity: image\n' "$ex" >keep.yml
mkbm --cache "$cache" keep.yml -o out/k.img --no-bmap || { cat "$WORK/stderr"; fail "build identity: image"; }
part_extract out/k.img 3 kroot.fs
expect_match "$(cat_file kroot.fs /etc/machine-id)" '^[0-9a-f]{32}$' "identity: image's machine-id"
