# Bad root: sections, each refused by check and by a build at the key's file:line:col with
# one message, nothing left behind: an overlay partition that does not exist, the root
# itself as the overlay partition, an overlay partition with a mount point of its own, a
# vfat one, an overlay over a root said to be writable, overlay-size without a tmpfs, a
# reset without an overlay partition, verity on a writable root, verity over an encrypted
# root (not supported), verity without a hash partition, with one too small, with a
# filesystem, with /boot on the root, verity-partition without verity, bad values; and a
# test: writes: step naming no partition of the recipe, or without max.
printf 'pass phrase' >pass
recipe() { # root: keys; extra partition keys for data
	cat >r.yml <<YAML
image: {size: 64MiB, table: msdos}
partitions:
  - name: root
    size: 32MiB
    filesystem: {type: ext2, label: R, mount: /}
    ${3:-}
  - {name: data, size: rest, filesystem: {type: ${2:-ext2}, label: D}}
initrd: {busybox: host}
root: {$1}
YAML
}
both() { # TEXT: check and a build both refuse r.yml with TEXT
	expect_fail "$1" check r.yml
	expect_fail "$1" r.yml -o out/x.img
}

recipe "overlay: dtaa"
both "r.yml:9:17: root.overlay: no partition is named 'dtaa' (the partitions: 'root', 'data')"
recipe "overlay: root"
both "r.yml:9:17: root.overlay: partition 'root' is the root itself"
recipe "overlay: data" "ext2, mount: /data"
both "r.yml:9:17: root.overlay: partition 'data' is mounted at '/data', but the initramfs mounts"
recipe "overlay: data" vfat
both "r.yml:9:17: root.overlay: partition 'data' is vfat, which cannot hold an overlay's upper layer"
recipe "overlay: data, read-only: false"
both "r.yml:9:34: root.read-only: an overlay lies over a read-only root"
recipe "overlay: data, overlay-size: 10MiB"
both "r.yml:9:37: root.overlay-size: overlay-size is the size of a tmpfs overlay"
recipe "overlay: tmpfs, reset: true"
both "r.yml:9:31: root.reset: a factory reset empties the overlay partition"
recipe "reset: true"
both "r.yml:9:15: root.reset: a factory reset empties the overlay partition"
recipe "verity: true"
both "r.yml:9:16: root.verity: dm-verity protects a root that is never written"
recipe "read-only: true, verity: true" ext2 "encrypt: {passphrase-file: pass, pbkdf-time: 50}"
both "r.yml:9:33: root.verity: dm-verity over an encrypted root is not supported"
recipe "read-only: maybe"
both "r.yml:9:19: root.read-only:"
recipe "overlay: 'a b'"
both "r.yml:9:17: root.overlay: 'a b' is not none, tmpfs or a partition name"
recipe "overlay: tmpfs, colour: blue"
both "r.yml:9:24: root.colour: unknown key"

# verity: a layout with a separate /boot and a hash partition
cat >v.yml <<'YAML'
image: {size: 128MiB, table: msdos}
partitions:
  - {name: boot, size: 16MiB, filesystem: {type: ext2, label: B, mount: /boot}}
  - {name: root, size: 64MiB, filesystem: {type: ext2, label: R, mount: /}}
  - {name: hash, size: 1MiB}
  - {name: data, size: rest, filesystem: {type: ext2, label: D}}
initrd: {busybox: host}
root: {overlay: data, verity: true}
YAML
vboth() {
	cp v.yml r.yml
	sed -i "$1" r.yml
	both "$2"
}
vboth '' "r.yml:8:31: root.verity: dm-verity keeps the root's hash tree on a partition of its own: add a partition named 'verity'"
vboth 's/verity: true}/verity: true, verity-partition: hash}/' "r.yml:8:55: root.verity-partition: partition 'hash' (1 MiB) is too small for the hash tree of the root's 64 MiB: it needs 2.0 MiB"
vboth 's/verity: true}/verity: true, verity-partition: data}/' "r.yml:8:55: root.verity-partition: partition 'data' cannot hold the hash tree"
vboth 's/verity: true}/verity: true, verity-partition: hash}/; s/size: 1MiB/size: 4MiB/; s|mount: /boot|mount: /srv|' "r.yml:8:31: root.verity: the root hash goes into grub.cfg, which is written after the root is hashed: give /boot its own partition"
vboth 's/verity: true}/verity-partition: hash}/' "r.yml:8:41: root.verity-partition: verity-partition is for verity: true"

# test: writes: steps (the write audit): an unknown partition, a missing max
recipe "overlay: tmpfs"
printf 'test:\n  steps:\n    - expect: up\n    - writes: {partition: rot, max: 0}\n' >>r.yml
both "r.yml:13:27: test.steps[1].writes.partition: the recipe has no partition named 'rot'"
recipe "overlay: tmpfs"
printf 'test:\n  steps:\n    - expect: up\n    - writes: {partition: root}\n' >>r.yml
both "r.yml:13:15: test.steps[1].writes: give partition and max: {partition: root, max: 0}"
