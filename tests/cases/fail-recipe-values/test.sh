# Bad values for every recipe key: one positioned message each, exit 1, nothing written.
# Each entry: the expected message, then the recipe (after a line "--").
root='partitions: [{name: r, size: rest, filesystem: {type: ext2, mount: /}}]'
# check LINE TOKEN MESSAGE RECIPE: the error must point at the first TOKEN on LINE of the
# recipe, with the column counted here, independently of the tool.
check() {
	printf '%s\n' "$4" >bad.yml
	line=$(sed -n "${1}p" bad.yml)
	prefix=${line%%"$2"*}
	[ "$prefix" != "$line" ] || fail "token '$2' not on line $1"
	expect_fail "bad.yml:$1:$((${#prefix} + 1)): $3" bad.yml -o out/x.img
}
check 1 "dos2" "image.table: 'dos2' is not one of msdos, gpt" 'image: {size: 8MiB, table: dos2}'
check 1 "xyz" "image.id: 'xyz' is not an msdos disk identifier" 'image: {size: 8MiB, id: xyz}'
check 1 "nope" "image.id: 'nope' is not a GPT disk GUID" 'image: {size: 8MiB, table: gpt, id: nope}'
check 1 "1000" "image.size: '1000' is not a whole number of 512-byte sectors" 'image: {size: 1000}'
check 1 "a b" "partitions[0].name: 'a b' is not a partition name" 'partitions: [{name: a b, size: 1MiB}]'
check 1 "banana" "partitions[0].type: 'banana' is not a partition type" 'partitions: [{name: a, size: 1MiB, type: banana}]'
check 1 "x}" "partitions[0].uuid: 'x' is not a partition GUID" 'partitions: [{name: a, size: 1MiB, uuid: x}]'
check 1 "maybe" "partitions[0].bootable: 'maybe' is not a boolean" 'partitions: [{name: a, size: 1MiB, bootable: maybe}]'
check 1 "{name" "partitions[0]: missing 'size'" 'partitions: [{name: a}]'
check 1 "{label" "partitions[0].filesystem: missing 'type'" 'partitions: [{name: a, size: 8MiB, filesystem: {label: x}}]'
check 1 "xfs" "partitions[0].filesystem.type: 'xfs' is not one of none, ext2, ext3, ext4" 'partitions: [{name: a, size: 8MiB, filesystem: {type: xfs}}]'
check 1 "3072" "partitions[0].filesystem.block-size: '3072' is not a block size" 'partitions: [{name: a, size: 8MiB, filesystem: {type: ext2, block-size: 3072}}]'
check 1 "boot" "partitions[0].filesystem.mount: 'boot' is not a mount point" 'partitions: [{name: a, size: 8MiB, filesystem: {type: ext2, mount: boot}}]'
check 3 "/}" "partitions[1].filesystem.mount: '/' is already the mount point of partition 'a'" "partitions:
  - {name: a, size: 8MiB, filesystem: {type: ext2, mount: /}}
  - {name: b, size: 8MiB, filesystem: {type: ext2, mount: /}}"
check 2 "name" "fstab.by: 'name' is not one of label, uuid, partuuid" "$root
fstab: {by: name}"
check 2 "tmp]" "fstab.tmpfs[0]: 'tmp' is not an absolute path" "$root
fstab: {tmpfs: [tmp]}"
check 2 "{spec" "fstab.extra[0]: missing 'type'" "$root
fstab: {extra: [{spec: proc, file: /proc}]}"
check 2 "sometimes" "flash.mtab: 'sometimes' is not a boolean" "$root
flash: {mtab: sometimes}"
check 2 "y}" "files[0].source: give only one of content, source, symlink or directory" "$root
files: [{path: /a, content: x, source: y}]"
check 2 "{path" "files[0]: missing one of 'content', 'source', 'symlink' or 'directory'" "$root
files: [{path: /a}]"
check 2 "etc/motd" "files[0].path: 'etc/motd' is not an absolute path in the target" "$root
files: [{path: etc/motd, content: x}]"
check 2 "'0644'" "files[0].mode: a symlink has no mode of its own" "$root
files: [{path: /a, symlink: /b, mode: '0644'}]"
check 2 "{target" "overlays[0]: missing 'source'" "$root
overlays: [{target: /opt}]"
check 2 "[{path" "files: no partition has a filesystem mounted at '/'" 'partitions: [{name: r, size: rest, filesystem: {type: ext2, mount: /data}}]
files: [{path: /a, content: x}]'
check 2 "large" "packages.variant: 'large' is not one of none, required, minbase, important" "$root
packages: {variant: large}"
check 2 "ftp:" "packages.mirror: 'ftp://x' is not a mirror URL" "$root
packages: {mirror: ftp://x}"
check 2 "Foo" "packages.include[1]: 'Foo_1' is not a package name" "$root
packages: {include: [bash, Foo_1]}"
check 2 "usr/" "packages.path-exclude[0]: 'usr/share/doc/*' is not an absolute glob" "$root
packages: {path-exclude: [usr/share/doc/*]}"
check 2 "nosuch" "packages.debs[0]: cannot open" "$root
packages: {mirror: none, debs: [nosuch]}"
check 2 "{mirror" "packages: mirror: none leaves nothing to install" "$root
packages: {mirror: none}"
check 2 "all}" "packages.architecture: 'all' is not a Debian architecture" "$root
packages: {architecture: all}"
check 2 "Systemd" "packages.prefer[0]: 'Systemd Standalone' is not a package name" "$root
packages: {prefer: [Systemd Standalone]}"
check 2 "maybe" "packages.check-valid-until: 'maybe' is not a boolean" "$root
packages: {check-valid-until: maybe}"
check 2 "{suite: x}" "packages.extra-suites: expected a list" "$root
packages: {extra-suites: {suite: x}}"
check 2 "trixie/" "packages.suite: 'trixie/updates' is not a suite name" "$root
packages: {suite: trixie/updates}"
check 2 "a/b" "packages.extra-suites[0]: 'a/b' is not a suite name" "$root
packages: {extra-suites: [a/b]}"
check 3 "/nonexistent" "packages.keyring: keyring '/nonexistent/k.gpg': No such file or directory" "image: {size: 16MiB}
$root
packages: {keyring: /nonexistent/k.gpg}"
check 2 "{include" "packages: no partition has a filesystem mounted at '/'" 'partitions: [{name: r, size: rest, filesystem: {type: ext2, mount: /data}}]
packages: {include: [bash]}'
check 2 "disk" "flash.journal: 'disk' is not one of volatile, persistent" "$root
flash: {journal: disk}"
check 2 "none}" "flash.timers: 'none' is not one of off, on" "$root
flash: {timers: none}"
check 2 "shared" "identity: 'shared' is not one of per-device, image" "$root
identity: shared"
check 2 "image" "identity: identity is about a Debian root's machine id and SSH keys, and the recipe has no packages:" "$root
identity: image"
check 2 "maybe" "bootloader.ia32: 'maybe' is not a boolean" "$root
bootloader: {type: grub-efi, ia32: maybe}"
check 2 "true}" "bootloader.ia32: ia32 is for UEFI: use type: grub-efi or grub-hybrid" "$root
bootloader: {type: grub-bios, ia32: true}"
