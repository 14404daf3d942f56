# examples/usb-trixie.yml: Debian 13 with systemd, configured through the user namespace
# (where the scripts see a chroot: recipe.yml's run: step), hybrid BIOS/UEFI. Offline
# (debugfs): the image holds no machine identity (machine-id "uninitialized", no SSH host
# keys, no random seed), the flash defaults are in place (journald volatile, the
# flash-writing timers masked), root's authorized_keys, sshd without passwords, DHCP for
# networkd. Its test: section passes under OVMF with Secure Boot: systemd "running" with
# no failed unit, dpkg clean, sshd active, the sudo user, SecureBoot=1. Then under SeaBIOS
# with QEMU's user network and port 22 forwarded: DHCP gives 10.0.2.15, the test's own key
# logs in over SSH (ssh on this machine), and sshd offers no password login. The two
# boots, each from a fresh copy (snapshot), made two machine-ids and two SSH host keys.
# The negative: identity: image keeps the build's machine-id in the image.
ex=$CASE/../../../examples/usb-trixie.yml
cache=$(test_cache)
ssh-keygen -q -t ed25519 -N '' -C boot-usb-trixie -f key || fail "ssh-keygen"
mkbm --cache "$cache" "$CASE/recipe.yml" -o out/t.img --no-bmap -D grub_timeout=0 -D ssh_key="$(cat key.pub)" ||
	{ cat "$WORK/stderr"; fail "build"; }
part_extract out/t.img 3 root.fs
fsck_clean root.fs
# kernel-slim.yml's /lib/modules globs hold for trixie's /usr/lib/modules (merged-usr).
ver=$(dbg root.fs "ls -p /usr/lib/modules" | awk -F/ '$6 ~ /amd64$/ { print $6 }')
dbg root.fs "ls -p /usr/lib/modules/$ver/kernel/fs/ext4" | grep -q '/ext4\.ko\.xz/' || fail "no ext4 module"
dbg root.fs "ls -p /usr/lib/modules/$ver/kernel/fs/fat" | grep -q '/vfat\.ko\.xz/' || fail "no vfat module (the ESP)"
dbg root.fs "ls -p /usr/lib/modules/$ver/kernel/drivers/net" | grep -q '/virtio_net\.ko\.xz/' || fail "no virtio_net (kernel-net.yml)"
dbg root.fs "ls -p /usr/lib/modules/$ver/kernel/sound/core" | grep -q '\.ko\.xz/' && fail "sound modules kept: kernel-slim did not apply"
expect_eq "$(cat_file root.fs /etc/machine-id)" "uninitialized" "machine-id in the image"
[ -z "$(dbg root.fs 'ls /etc/ssh' | grep -o 'ssh_host_[a-z0-9_]*key')" ] || fail "SSH host keys in the image"
dbg root.fs "stat /var/lib/systemd/random-seed" | grep -q Inode && fail "a random seed in the image"
expect_match "$(cat_file root.fs /etc/systemd/journald.conf.d/mkbootmedia-flash.conf)" \
	'^Storage=volatile$' "journald's storage"
expect_eq "$(symlink_target root.fs /etc/systemd/system/apt-daily.timer)" "/dev/null" "apt-daily masked"
expect_eq "$(symlink_target root.fs /etc/systemd/system/ssh.service.wants/mkbootmedia-ssh-host-keys.service)" \
	"/etc/systemd/system/mkbootmedia-ssh-host-keys.service" "the host key job"
expect_match "$(cat_file root.fs /usr/lib/os-release)" '^VERSION_CODENAME=trixie$' "os-release"
expect_eq "$(cat_file root.fs /root/.ssh/authorized_keys)" "$(cat key.pub)" "root's authorized_keys"
expect_eq "$(stat_field root.fs /root/.ssh/authorized_keys)" "0600 0 0 regular" "authorized_keys' mode"
expect_match "$(cat_file root.fs /etc/ssh/sshd_config.d/50-mkbootmedia.conf)" '^PasswordAuthentication no$' "sshd"
expect_match "$(cat_file root.fs /etc/systemd/network/80-mkbootmedia-wired.network)" '^DHCP=yes$' "networkd"

"$MKBOOTMEDIA" boot --firmware uefi-secure --test "$ex" out/t.img --log uefi-secure.log >uefi-secure.out 2>&1 ||
	{ cat uefi-secure.out; tail -c 3000 uefi-secure.log; fail "boot --test on uefi-secure"; }
port=$((20000 + RANDOM % 20000))
ssh_opts="-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=60 -p $port"
"$MKBOOTMEDIA" boot --firmware bios --forward "$port:22" out/t.img --timeout 400 --log bios.log \
	--expect 'login: ?$' --send 'root\n' --expect 'Password: ?$' --send 'mkbootmedia\n' --expect '# ?$' \
	--run 'systemctl is-system-running --wait' --output '^running' \
	--run 'cat /etc/machine-id' --run 'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub' \
	--run 'for i in $(seq 60); do busybox ip -4 -o addr | grep -q "inet 10.0.2.15/" && break; sleep 1; done; busybox ip -4 -o addr' \
	--output 'inet 10\.0\.2\.15/24' \
	--host "ssh $ssh_opts -o BatchMode=yes -i key root@127.0.0.1 cat /etc/hostname" --output '^trixie-key' \
	--host "ssh -v $ssh_opts -o BatchMode=yes -o PubkeyAuthentication=no root@127.0.0.1 true 2>&1 | grep 'Authentications that can continue'" \
	--output 'continue: publickey[[:space:]]*$' \
	--poweroff >bios.out 2>&1 || { cat bios.out; tail -c 3000 bios.log; fail "boot on bios: DHCP and SSH"; }
for fw in uefi-secure bios; do
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
