# system.network (systemd-networkd, ifupdown), system.ssh, users[].authorized-keys and
# users[].sudo: what check plans, and each bad form refused by check (and the build, before
# anything is written) at its file:line:col with one message.
cache=$(test_cache)
ssh-keygen -q -t ed25519 -N '' -C check-network -f key || fail "ssh-keygen"
cat >r.yml <<'YAML'
image: {size: 256MiB, table: msdos, seed: check-network}
partitions:
  - {name: root, size: rest, filesystem: {type: ext2, label: R, mount: /}}
packages:
  suite: trixie
  include: [openssh-server]
system:
  init: systemd
  network: {address: 192.0.2.10/24, gateway: 192.0.2.1, dns: [192.0.2.53]}
  ssh:
    authorized-keys: [{file: key.pub}]
    password-authentication: false
YAML
mkbm --cache "$cache" check r.yml >plan || { cat "$WORK/stderr"; fail "check refused the good recipe"; }
grep -q "systemd-networkd: 192.0.2.10/24 via 192.0.2.1 on every wired interface" plan ||
	fail "the plan: $(grep -A3 '^network' plan)"
grep -q "ssh: password logins off" plan || fail "the plan: $(grep -A3 '^network' plan)"

expect_sed_fail "bad.yml:9:12: system.network: system.network with sysvinit is written for ifupdown: add ifupdown to packages.include" \
	's/init: systemd/init: sysvinit/'
expect_sed_fail "bad.yml:9:12: system.network: system.network needs system.init: systemd (systemd-networkd) or sysvinit (ifupdown)" \
	's/init: systemd/init: busybox/'
expect_sed_fail "bad.yml:11:5: system.ssh: system.ssh configures sshd: add openssh-server to packages.include" \
	's/include: \[openssh-server\]/include: [less]/'
expect_sed_fail "bad.yml:9:22: system.network.address: '192.0.2.10' is not an address with its prefix length" \
	's|192.0.2.10/24|192.0.2.10|'
expect_sed_fail "bad.yml:9:46: system.network.gateway: 'gw.example' is not an IP address" \
	's|gateway: 192.0.2.1|gateway: gw.example|'
expect_sed_fail "bad.yml:9:12: system.network: 'static' is not one of none, dhcp" \
	's|network: {.*}|network: static|'
expect_sed_fail "bad.yml:11:23: system.ssh.authorized-keys[0]: not an SSH public key line" \
	's|\[{file: key.pub}\]|["AAAA not a key"]|'
expect_sed_fail "bad.yml:11:30: system.ssh.authorized-keys[0].file: 'key' holds a line that is not an SSH public key" \
	's|file: key.pub|file: key|'
expect_sed_fail "bad.yml:11:30: system.ssh.authorized-keys[0].file: cannot read key file 'nokey.pub'" \
	's|file: key.pub|file: nokey.pub|'
# sysvinit: ifupdown, with a DHCP client for dhcp; the plan says so.
sed -e 's/init: systemd/init: sysvinit/' -e 's/include: \[openssh-server\]/include: [openssh-server, sysvinit-core, ifupdown]/' \
	-e 's|network: {.*}|network: dhcp|' r.yml >sysv.yml
expect_fail "sysv.yml:9:12: system.network: system.network with sysvinit needs udev, which loads the network card's driver" \
	--cache "$cache" check sysv.yml
sed -i 's/ifupdown\]/ifupdown, udev]/' sysv.yml
expect_fail "sysv.yml:9:12: system.network: system.network: dhcp with ifupdown needs a DHCP client: add isc-dhcp-client or dhcpcd-base" \
	--cache "$cache" check sysv.yml
sed -i 's/udev\]/udev, isc-dhcp-client]/' sysv.yml
mkbm --cache "$cache" check sysv.yml >plan || { cat "$WORK/stderr"; fail "check refused the sysvinit recipe"; }
grep -q "ifupdown: DHCP on every wired interface" plan || fail "the sysvinit plan: $(grep -A3 '^network' plan)"
printf 'include: [sysv.yml]\npackages: {configure: none}\n' >sysv-none.yml
expect_fail "sysv.yml:9:12: system.network: system.network with sysvinit needs ifupdown's networking service enabled" \
	--cache "$cache" check sysv-none.yml
# A user's authorized keys: planned; the bad forms refused; sshd needed.
printf 'include: [r.yml]\nsystem:\n  users: [{name: ada, authorized-keys: [{file: key.pub}]}]\n' >user.yml
mkbm --cache "$cache" check user.yml >plan || { cat "$WORK/stderr"; fail "check refused a user's keys"; }
grep -q "ssh: ada's authorized_keys" plan || fail "the plan: $(grep -A4 '^network' plan)"
printf 'include: [r.yml]\nsystem:\n  users: [{name: ada, authorized-keys: [{file: key}]}]\n' >user-bad.yml
expect_fail "user-bad.yml:3:48: system.users[0].authorized-keys[0].file: 'key' holds a line that is not an SSH public key" \
	--cache "$cache" check user-bad.yml
printf 'include: [r.yml]\nsystem:\n  users: [{name: ada, authorized-keys: []}]\n' >user-empty.yml
expect_fail "user-empty.yml:3:40: system.users[0].authorized-keys: no key" --cache "$cache" check user-empty.yml
sed -e 's/include: \[openssh-server\]/include: [less]/' -e '/^  ssh:/,$d' r.yml >nossh.yml
printf '  users: [{name: ada, authorized-keys: [{file: key.pub}]}]\n' >>nossh.yml
expect_fail "nossh.yml:10:40: system.users[0].authorized-keys: users[].authorized-keys configures sshd: add openssh-server" \
	--cache "$cache" check nossh.yml
# users[].sudo needs the sudo package.
printf 'include: [r.yml]\nsystem:\n  users: [{name: ada, sudo: true}]\n' >sudo.yml
expect_fail "sudo.yml:3:29: system.users[0].sudo: sudo: true needs the sudo package" \
	--cache "$cache" check sudo.yml
printf 'include: [r.yml]\npackages: {include: [openssh-server, sudo]}\nsystem:\n  users: [{name: ada, sudo: true}]\n' >sudo-ok.yml
mkbm --cache "$cache" check sudo-ok.yml >/dev/null || { cat "$WORK/stderr"; fail "sudo with the package"; }
true
