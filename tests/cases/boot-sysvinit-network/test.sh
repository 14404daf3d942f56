# system.network with sysvinit (ifupdown, isc-dhcp-client) and a user's authorized_keys, on
# examples/usb-debian.yml (bookworm). Offline (debugfs): the interfaces file, the networking
# service at boot, the host key job before sshd (startpar's .depend.start), ada's ~/.ssh/authorized_keys (0600, owned by ada), no host keys.
# Then under SeaBIOS with QEMU's user network and port 22 forwarded: DHCP gives 10.0.2.15,
# ada logs in over SSH (ssh on this machine) with the test's key; the negative: another key
# is refused, and sshd offers no password login.
cache=$(test_cache)
ssh-keygen -q -t ed25519 -N '' -C boot-sysvinit-network -f key || fail "ssh-keygen"
ssh-keygen -q -t ed25519 -N '' -C other -f other || fail "ssh-keygen"
mkbm --cache "$cache" "$CASE/recipe.yml" -o out/n.img --no-bmap -D grub_timeout=0 -D ssh_key="$(cat key.pub)" ||
	{ cat "$WORK/stderr"; fail "build"; }
part_extract out/n.img 3 root.fs
fsck_clean root.fs
expect_match "$(cat_file root.fs /etc/network/interfaces.d/mkbootmedia)" '^auto /en\*=mkb-wired /eth\*=mkb-wired$' "ifupdown's patterns"
expect_match "$(cat_file root.fs /etc/network/interfaces.d/mkbootmedia)" '^iface mkb-wired inet dhcp$' "ifupdown's dhcp"
expect_match "$(cat_file root.fs /etc/network/interfaces)" '^source /etc/network/interfaces.d/\*$' "interfaces sources interfaces.d"
dbg root.fs "ls /etc/rcS.d" | grep -q 'S[0-9]*networking' || fail "networking is not enabled"
uid=$(cat_file root.fs /etc/passwd | awk -F: '$1 == "ada" { print $3 ":" $4 }')
[ -n "$uid" ] || fail "no user ada"
expect_eq "$(cat_file root.fs /home/ada/.ssh/authorized_keys)" "$(cat key.pub)" "ada's authorized_keys"
expect_eq "$(stat_field root.fs /home/ada/.ssh/authorized_keys)" "0600 ${uid%:*} ${uid#*:} regular" "authorized_keys' mode and owner"
expect_eq "$(stat_field root.fs /home/ada/.ssh)" "0700 ${uid%:*} ${uid#*:} directory" ".ssh's mode and owner"
[ -z "$(dbg root.fs 'ls /etc/ssh' | grep -o 'ssh_host_[a-z0-9_]*key')" ] || fail "SSH host keys in the image"
# startpar starts what .depend.start lists, in its order: the host keys before sshd.
expect_match "$(cat_file root.fs /etc/init.d/.depend.start)" '^ssh: .*mkbootmedia-ssh-host-keys' "sshd waits for its host keys"
expect_match "$(cat_file root.fs /etc/init.d/.depend.start)" '^TARGETS = .* mkbootmedia-ssh-host-keys' "the host key job is started"

port=$((20000 + RANDOM % 20000))
ssh_opts="-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=60 -o BatchMode=yes -p $port"
"$MKBOOTMEDIA" boot --forward "$port:22" out/n.img --timeout 400 --log bios.log \
	--expect 'login: ?$' --send 'root\n' --expect 'Password: ?$' --send 'mkbootmedia\n' --expect '# ?$' \
	--run 'for i in $(seq 60); do busybox ip -4 -o addr | grep -q "inet 10.0.2.15/" && break; sleep 1; done; busybox ip -4 -o addr' \
	--output 'inet 10\.0\.2\.15/24' \
	--run 'for i in $(seq 60); do [ -s /etc/ssh/ssh_host_ed25519_key.pub ] && pidof sshd >/dev/null && break; sleep 1; done; pidof sshd' \
	--output '^[0-9]+' \
	--host "ssh $ssh_opts -i key ada@127.0.0.1 id -un" --output '^ada' \
	--host "ssh $ssh_opts -i other ada@127.0.0.1 true 2>&1; echo rc=\$?" --output 'Permission denied' \
	--host "ssh -v $ssh_opts -o PubkeyAuthentication=no ada@127.0.0.1 true 2>&1 | grep 'Authentications that can continue'" \
	--output 'continue: publickey[[:space:]]*$' \
	--poweroff >bios.out 2>&1 || { cat bios.out; tail -c 3000 bios.log; fail "boot on bios: DHCP and SSH"; }
