# Every rule of the form "X needs Y" between stages, each with a recipe that breaks it:
# `mkbootmedia check` must refuse it at the key that makes the need, as the build does, before
# anything is downloaded or written. One row per rule: the line and token the error points
# at, the message, and the recipe's lines after a common head (offline: local .debs only).
mkdir -p debs
mkdeb debs dpkg 1 "$(mktemp -d)"
mkdeb debs busybox-static 1 "$(mktemp -d)"
head='image: {size: 64MiB}
partitions:
  - {name: r, size: rest, filesystem: {type: ext2, mount: /}}'
pkgs='packages: {mirror: none, variant: none, debs: [debs/], include: [dpkg, busybox-static],'
rule() { # LINE TOKEN MESSAGE RECIPE-TAIL
	printf '%s\n%s\n' "$head" "$4" >r.yml
	line=$(sed -n "${1}p" r.yml)
	prefix=${line%%"$2"*}
	[ "$prefix" != "$line" ] || fail "token '$2' not on line $1 of: $(cat r.yml)"
	for cmd in check build; do
		if [ $cmd = check ]; then
			expect_fail "r.yml:$1:$((${#prefix} + 1)): $3" check --offline r.yml
		else
			expect_fail "r.yml:$1:$((${#prefix} + 1)): $3" --offline r.yml -o out/x.img
		fi
	done
}
# A kernel is needed: by configure: vm (it boots the image's kernel), by a boot loader, by
# kernel: or initrd: (the initramfs).
rule 4 vm "packages.configure: vm boots the image's own kernel in QEMU, but no kernel is in the package set" \
	"$pkgs configure: vm}"
rule 5 "{grub" "bootloader: the image boots with mkbootmedia's initramfs, but no kernel is in the package set" \
	"$pkgs configure: none}
bootloader: {grub: host}"
rule 5 "{compression" "initrd: the image boots with mkbootmedia's initramfs, but no kernel" \
	"$pkgs configure: none}
initrd: {compression: gzip}"
# first-boot needs mkbootmedia's initramfs, and /usr on the root.
rule 4 first-boot "packages.configure: configure: first-boot needs mkbootmedia's initramfs" \
	"$pkgs configure: first-boot}"
# What needs the configured system cannot have configure: none.
rule 5 "[{name" "system.users: this needs the configured system, and packages.configure is none" \
	"$pkgs configure: none}
system: {users: [{name: a}]}"
rule 5 "{enable" "services: this needs the configured system" \
	"$pkgs configure: none}
services: {enable: [x]}"
# inittab: is for sysvinit and busybox init.
rule 6 "{default" "inittab: inittab: is for sysvinit and busybox init" \
	"$pkgs configure: none}
system: {init: systemd}
inittab: {default-runlevel: 3}"
# run: steps need a Debian root.
rule 4 "[{name" "run: run: steps need a Debian root to run in (add packages:)" \
	'run: [{name: a, command: "true"}]'
