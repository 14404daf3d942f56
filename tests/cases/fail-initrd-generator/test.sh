# initrd.generator's refusals, each by check at the key's position with one message and no
# image: initramfs-tools with a root: section (its initramfs knows no overlay or verity),
# with an encrypted root (no crypttab), without configure (nothing runs mkinitramfs at
# build time), with other initrd keys; a bad value; and partitions[].grow where the
# initramfs cannot grow it. The positive counterpart for generator none is in
# kernel-update-target; generator mkbootmedia's, everywhere; grow's, in boot-grow.
mkdir debs
fake_kernel debs
recipe() { # initrd: keys; extra top-level YAML; packages.configure
	cat >r.yml <<YAML
image: {size: 64MiB, table: msdos}
partitions:
  - {name: boot, size: 16MiB, filesystem: {type: ext2, label: B, mount: /boot}}
  - name: root
    size: 24MiB
    filesystem: {type: ext2, label: R, mount: /}
    ${3:-}
  - {name: data, size: rest, filesystem: {type: ext2, label: D}}
packages: {mirror: none, variant: none, include: [linux-image-1.0-test, busybox-static],
           debs: [debs], configure: ${4:-none}}
initrd: {$1}
bootloader: {grub: host}
$2
YAML
}
recipe "generator: initramfs-tools" "root: {overlay: data}"
expect_fail "r.yml:11:21: initrd.generator: initramfs-tools cannot mount the root as root: asks" check r.yml
printf "pass phrase" >pass && chmod 600 pass
recipe "generator: initramfs-tools" "" "encrypt: {passphrase-file: pass}"
expect_fail "r.yml:11:21: initrd.generator: initramfs-tools opens an encrypted root only with cryptsetup-initramfs" check r.yml
recipe "generator: initramfs-tools"
expect_fail "r.yml:11:21: initrd.generator: initramfs-tools makes the initramfs when configure runs" check r.yml
recipe "generator: initramfs-tools, compression: xz" "" "" userns
expect_fail "initramfs-tools takes none of initrd's other keys" check r.yml
recipe "generator: dracut"
expect_fail "r.yml:11:21: initrd.generator: 'dracut'" check r.yml
# A dm-verity root: generator mkbootmedia asked for explicitly is refused (the default
# quietly becomes none there, see example-cf-readonly).
recipe "generator: mkbootmedia" "root: {verity: true, verity-partition: data}"
expect_fail "r.yml:11:21: initrd.generator: a dm-verity root cannot take a new kernel" check r.yml
# partitions[].grow's refusals that involve the initramfs: growing happens in ours, never
# in initramfs-tools'; an encrypted partition grows only as the root (the only one the
# initramfs opens); a dm-verity root never (its hash tree covers every block).
grow_recipe() { # partitions after boot; initrd: keys; extra top-level YAML; configure
	cat >r.yml <<YAML
image: {size: 64MiB, table: msdos}
partitions:
  - {name: boot, size: 16MiB, filesystem: {type: ext2, label: B, mount: /boot}}
$1
packages: {mirror: none, variant: none, include: [linux-image-1.0-test, busybox-static],
           debs: [debs], configure: ${4:-none}}
initrd: {$2}
bootloader: {grub: host}
$3
YAML
}
grow_recipe "  - {name: root, size: rest, grow: true, filesystem: {type: ext2, label: R, mount: /}}" \
	"generator: initramfs-tools" "" userns
expect_fail "r.yml:4:36: partitions[1].grow: partitions grow in mkbootmedia's initramfs, and initrd.generator is initramfs-tools" check r.yml
grow_recipe "  - {name: root, size: 24MiB, filesystem: {type: ext2, label: R, mount: /}}
  - {name: data, size: rest, grow: true, encrypt: {passphrase-file: pass},
     filesystem: {type: ext2, label: D}}" ""
expect_fail "r.yml:5:36: partitions[2].grow: an encrypted partition grows only when it holds the root" check r.yml
grow_recipe "  - {name: verity, size: 8MiB}
  - {name: root, size: rest, grow: true, filesystem: {type: ext2, label: R, mount: /}}" "" \
	"root: {verity: true, verity-partition: verity}"
expect_fail "r.yml:5:36: partitions[2].grow: a root checked by dm-verity cannot grow" check r.yml
