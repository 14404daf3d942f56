# The CompactFlash appliance (examples/cf-readonly.yml): 1 GB card, Debian's kernel and
# busybox, a read-only root checked by dm-verity under an overlay whose changes go to the
# data partition, a factory reset (boot-verity tests the verity part on its own). Built once from the cache, then booted on a writable copy four times:
#   1. IDE, the recipe's test: / is the overlay, the card's root ro under it, and
#      /etc/marker is written to it. The root partition's bytes are unchanged (sha256sum), the
#      marker is in the data partition's upper layer (debugfs).
#   2. USB: the marker survived; mkbootmedia-reset arms a reset (the flag, seen by debugfs).
#   3. IDE: the initramfs erased the changes (no marker); a new marker is written.
#   4. IDE, GRUB's "Factory reset" entry chosen on the serial console: the marker is gone.
#   5. IDE under --audit-writes (audit.yml): the marker written is reported, in the data
#      partition only; a writes: step that forbids that fails.
# Boots 1-4 run the example's own writes: steps (--write with an audit: the root, hash
# and boot partitions are never written).
# The root and hash partitions' hashes never change; the data partition's does (the copy was
# written).
cache=$(test_cache)
ex=$CASE/../../../examples/cf-readonly.yml
mkbm --cache "$cache" "$ex" -o out/cf.img || { cat "$WORK/stderr"; fail "build"; }
img=out/cf.img
expect_eq "$(stat -c %s $img)" 1000000000 "image size (1 GB preset)"
expect_eq "$(part_field $img 1 bootable)" true "boot active"
expect_eq "$(part_field $img 2 size)" $((200 * 2048)) "root size"
expect_eq "$(part_field $img 4 start)" $((257 * 2048)) "data start"
part_extract $img 1 boot.fs
part_extract $img 2 root.fs
part_extract $img 3 hash.bin
part_extract $img 4 data.fs
fsck_clean boot.fs
fsck_clean root.fs
fsck_clean data.fs
expect_eq "$(sb_field data.fs 'Filesystem volume name')" CF_DATA "data label"

# fstab: / is the overlay (no fsck pass), the card's root and the data partition have no
# line of their own (the initramfs mounts them); the flash tmpfs are there.
fstab=$(cat_file root.fs /etc/fstab)
expect_match "$fstab" '^overlay +/ +overlay +defaults,noatime +0 0$' "overlay root"
grep -Eq '^LABEL=CF_(ROOT|DATA) ' <<<"$fstab" && fail "the root or data partition in fstab: $fstab"
expect_match "$fstab" '^tmpfs +/var/lib/dhcp +tmpfs +defaults,noatime,nosuid,nodev,size=1048576 +0 0$' "tmpfs size"
expect_match "$fstab" '^tmpfs +/media +tmpfs +.*size=65536,mode=0755 ' "tmpfs mode"
expect_eq "$(symlink_target root.fs /etc/mtab)" /proc/mounts "/etc/mtab"
expect_eq "$(stat_field root.fs /overlay)" "0755 0 0 directory" "overlay mount point"
expect_eq "$(stat_field root.fs /usr/sbin/mkbootmedia-reset)" "0755 0 0 regular" "reset command"
grub=$(cat_file boot.fs /grub/grub.cfg)
expect_match "$grub" "^menuentry 'Factory reset' \{" "reset entry"
expect_match "$grub" 'linux.* root=LABEL=CF_ROOT ro roothash=.*mkbootmedia\.reset=1' "reset parameter"
[ "$(grep -c 'mkbootmedia.reset=1' <<<"$grub")" = 1 ] || fail "reset parameter on other entries"

# The initrd holds the overlay module and says how to mount the data partition.
ver=$(dbg boot.fs "ls -p /" | awk -F/ '$6 ~ /^vmlinuz-/ { sub("vmlinuz-", "", $6); print $6 }')
dbg boot.fs "dump /initrd.img-$ver initrd.img"
mkdir i
(cd i && zstd -dc ../initrd.img | cpio -id --quiet 2>/dev/null)
[ -f "i/lib/modules/$ver/kernel/fs/overlayfs/overlay.ko" ] || fail "no overlay.ko in the initrd"
grep -qx "/lib/modules/$ver/kernel/fs/overlayfs/overlay.ko" i/etc/modules.load ||
	fail "overlay.ko is not loaded by /init"
expect_match "$(cat i/etc/initrd.conf)" "^OVERLAY='LABEL=CF_DATA'$" "overlay partition"
expect_match "$(cat i/etc/initrd.conf)" "^OVERLAY_OPTS='sync,noatime'$" "its mount options"
expect_match "$(cat i/etc/initrd.conf)" "^VERITY_HASHDEV='PART=CF_ROOT:3'$" "hash partition"
[ -x i/usr/sbin/veritysetup ] || fail "no veritysetup in the initrd"
hash=$(grep -o 'roothash=[0-9a-f]*' <<<"$grub" | sort -u)
veritysetup verify root.fs hash.bin "${hash#roothash=}" || fail "veritysetup verify: $hash"

part_sha() { # IMAGE N: sha256 of partition N's bytes
	dd if="$1" bs=512 skip="$(part_field "$1" "$2" start)" count="$(part_field "$1" "$2" size)" \
		status=none | sha256sum | cut -d' ' -f1
}
root0=$(part_sha $img 2)
hash0=$(part_sha $img 3)
data0=$(part_sha $img 4)
cp --sparse=always $img out/w.img

boot() { # NAME ARGS...: one boot of the writable copy
	name=$1
	shift
	start=$(date +%s.%N)
	"$MKBOOTMEDIA" boot out/w.img --write --timeout 200 --log "$name.log" "$@" >"$name.out" 2>&1 ||
		{ cat "$name.out"; tail -c 3000 "$name.log"; fail "boot $name"; }
	echo "  boot $name: $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $start }") s" >&2
	expect_eq "$(part_sha out/w.img 2)" "$root0" "root partition after boot $name"
	expect_eq "$(part_sha out/w.img 3)" "$hash0" "hash partition after boot $name"
	part_extract out/w.img 4 data.fs
	fsck_clean data.fs
}

boot 1-ide --bus ide --test "$ex"
[ "$(part_sha out/w.img 4)" != "$data0" ] || fail "the data partition was not written"
expect_eq "$(cat_file data.fs /upper/etc/marker)" persisted "marker in the upper layer"

boot 2-usb --bus usb --expect 'cf-appliance is up' --send '\n' \
	--run 'cat /etc/marker' --output '^persisted' \
	--run 'mkbootmedia-reset' --output 'erased at the next boot' --poweroff
expect_eq "$(cat_file data.fs /upper/etc/marker)" persisted "marker kept"
expect_eq "$(cat_file data.fs /factory-reset)" "armed by mkbootmedia-reset" "reset flag"

boot 3-ide --bus ide --expect 'factory reset \(mkbootmedia-reset\)' \
	--expect 'cf-appliance is up' --send '\n' \
	--run 'test ! -e /etc/marker' --run 'echo again >/etc/marker && sync' --poweroff
expect_eq "$(cat_file data.fs /upper/etc/marker)" again "new marker"
[ -z "$(dbg data.fs 'stat /factory-reset' 2>/dev/null)" ] || fail "reset flag left"

# The menu: normal, single-user, Factory reset; two downs and Enter on the serial console.
boot 4-grub --bus ide --expect 'Factory reset' --send '\e[B\e[B\r' \
	--expect 'factory reset \(mkbootmedia.reset=1\)' --expect 'cf-appliance is up' \
	--send '\n' --run 'test ! -e /etc/marker' --run 'cat /proc/cmdline' \
	--output 'mkbootmedia\.reset=1' --poweroff
[ -z "$(cat_file data.fs /upper/etc/marker)" ] || fail "marker left after the reset entry"

# --audit-writes on a private copy (audit.yml's writes: steps imply it): the marker the
# guest writes is listed in the data partition, nothing was written to the boot, root or
# hash partitions, and the step claiming the data partition stays unwritten fails, at its
# place in the recipe; the image itself is left as it was.
sum=$(sha256sum <out/w.img)
if "$MKBOOTMEDIA" boot out/w.img --test "$CASE/audit.yml" --log audit.log >audit.out 2>&1; then
	cat audit.out
	fail "the writes: step on the data partition passed"
fi
expect_eq "$(sha256sum <out/w.img)" "$sum" "the image after --audit-writes"
audit=$(cat audit.out)
for n in 1 2 3; do
	expect_match "$audit" "^  partition $n: 0 bytes$" "audit: partition $n"
done
expect_match "$audit" '^  partition 4: [1-9][0-9]* bytes$' "audit: the data partition"
expect_match "$audit" '^    /upper/etc/marker: [1-9][0-9]* bytes$' "audit: the marker"
expect_match "$audit" "writes: partition 'root' \(2\): 0 bytes, at most 0: ok" "audit: root ok"
expect_match "$audit" "audit.yml:13:15: test.steps\[5\].writes: the guest wrote [1-9][0-9]* bytes to partition 'data' \(4\), more than 0" "audit: data refused"
