# Bad values for the configure and run stages' keys (packages.configure, system:, inittab:,
# services:, run:): one message at file:line:col each, exit non-zero, no image left, and
# nothing downloaded (they are all found before the packages stage runs).
base='image: {size: 64MiB}
partitions: [{name: r, size: rest, filesystem: {type: ext2, mount: /}}]
packages: {suite: bookworm}'
# check LINE TOKEN MESSAGE RECIPE-TAIL: the error points at the first TOKEN on LINE.
check() {
	printf '%s\n%s\n' "$base" "$4" >bad.yml
	line=$(sed -n "${1}p" bad.yml)
	prefix=${line%%"$2"*}
	[ "$prefix" != "$line" ] || fail "token '$2' not on line $1"
	expect_fail "bad.yml:$1:$((${#prefix} + 1)): $3" --offline --cache "$WORK/cache" bad.yml -o out/x.img
}
printf '%s\n' 'partitions: [{name: r, size: rest, filesystem: {type: ext2, mount: /}}]' \
	'packages: {suite: bookworm, configure: maybe}' >bad.yml
expect_fail "bad.yml:2:40: packages.configure: 'maybe' is not one of auto, userns, vm, first-boot, none" \
	--offline --cache "$WORK/cache" bad.yml -o out/x.img
check 4 "bad_host" "system.hostname: 'bad_host' is not a host name" 'system: {hostname: bad_host}'
check 4 "upstart" "system.init: 'upstart' is not one of sysvinit, systemd, busybox" 'system: {init: upstart}'
check 4 "../etc" "system.timezone: '../etc' is not a time zone name" 'system: {timezone: ../etc}'
check 4 "hunter2" "system.root-password.hash: not a crypt(5) hash" 'system: {root-password: {hash: hunter2}}'
check 4 "{hash" "system.root-password: give either hash:" 'system: {root-password: {hash: "!", file: pw}}'
check 4 "nope.pw" "system.root-password.file: cannot read password file" 'system: {root-password: {file: nope.pw}}'
check 4 "Ada" "system.users[0].name: 'Ada' is not a user name" 'system: {users: [{name: Ada}]}'
check 4 "{uid" "system.users[0]: a user needs a name" 'system: {users: [{uid: 1000}]}'
check 4 "bin/sh" "system.users[0].shell: 'bin/sh' is not an absolute path" 'system: {users: [{name: a, shell: bin/sh}]}'
check 4 "7}" "inittab.default-runlevel: '7' is not a runlevel" 'inittab: {default-runlevel: 7}'
check 4 '"tty 1' "inittab.gettys[0]: 'tty 1' is not a terminal name" 'inittab: {gettys: ["tty 1"]}'
check 4 "[garbage" "inittab.lines: 'garbage' is not an inittab line" 'inittab: {lines: [garbage]}'
check 4 "a;b" "services.enable[0]: 'a;b' is not a valid name" 'services: {enable: [a;b]}'
check 4 "{script" "run[0]: a step needs a name" 'run: [{script: "true"}]'
check 4 "{name" "run[0]: step 'a': give either script:" 'run: [{name: a, script: x, command: y}]'
# Whole-recipe refusals.
printf '%s\n' 'image: {size: 64MiB}' 'partitions: [{name: r, size: rest, filesystem: {type: ext2, mount: /}}]' \
	'packages: {suite: bookworm, configure: none}' 'system: {users: [{name: a}]}' >bad.yml
expect_fail "bad.yml:4:17: system.users: this needs the configured system, and packages.configure is none" \
	--offline --cache "$WORK/cache" bad.yml -o out/x.img
printf '%s\n' "$base" 'system: {init: systemd}' 'inittab: {default-runlevel: 3}' >bad.yml
expect_fail "bad.yml:5:10: inittab: inittab: is for sysvinit and busybox init" \
	--offline --cache "$WORK/cache" bad.yml -o out/x.img
printf '%s\n' 'partitions: [{name: r, size: rest, filesystem: {type: ext2, mount: /}}]' \
	'run: [{name: a, command: "true"}]' >bad.yml
expect_fail "bad.yml:2:6: run: run: steps need a Debian root to run in (add packages:)" \
	--offline --cache "$WORK/cache" bad.yml -o out/x.img
[ ! -e "$WORK/cache" ] || [ -z "$(ls -A "$WORK/cache")" ] || fail "something was downloaded"
