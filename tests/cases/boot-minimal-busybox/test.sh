# examples/minimal-busybox.yml built from Debian's kernel and busybox (the mirror, cached)
# boots in QEMU under TCG: GRUB from the MBR, the kernel, the generated initramfs, the root
# found by label, busybox's init; the recipe's test: section checks the mounts through the
# serial console (USB key on xHCI). Then, on IDE with the root's label changed, /init must
# time out, name the missing device and give a working shell instead of a kernel panic;
# and on virtio, break=, init=, rw and rootflags= must be honoured.
# Independent checks of the initrd: its modules against depmod + modprobe --show-depends
# run on the kernel package itself.
ex=$CASE/../../../examples/minimal-busybox.yml
cache=$(test_cache)
mkbm --cache "$cache" "$ex" -o out/m.img -D grub_timeout=0 -D root_wait=4 ||
	{ cat "$WORK/stderr"; fail "build"; }
part_extract out/m.img 1 boot.fs
part_extract out/m.img 2 root.fs
fsck_clean boot.fs
fsck_clean root.fs

# The modules /init loads include what modprobe resolves for the root's needs.
ver=$(dbg boot.fs "ls -p /" | awk -F/ '$6 ~ /^vmlinuz-/ { sub("vmlinuz-", "", $6); print $6 }')
[ -n "$ver" ] || fail "no kernel in /boot"
deb=
for f in "$cache"/sha256/*; do
	if [ "$(dpkg-deb -f "$f" Package 2>/dev/null)" = "linux-image-$ver" ]; then
		deb=$f
		break
	fi
done
[ -n "$deb" ] || fail "kernel package not in the cache"
mkdir k
dpkg-deb -x "$deb" k
depmod -b k "$ver"
dbg boot.fs "dump /initrd.img-$ver initrd.img"
zstd -dc initrd.img | cpio -it 2>/dev/null >initrd.list
for m in ext4 usb-storage uas xhci-pci ehci-pci ahci ata_piix sd_mod virtio_blk virtio_pci; do
	modprobe -d k -S "$ver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }' |
		sed "s|^.*/lib/modules/$ver/||" | while read -r ko; do
		grep -qx "lib/modules/$ver/$ko" initrd.list || fail "$m needs $ko, not in the initrd"
	done
done

"$MKBOOTMEDIA" boot --test "$ex" out/m.img --log console.log >boot.out 2>&1 ||
	{ cat boot.out; tail -c 3000 console.log; fail "boot"; }
grep -q "^boot: 'minimal-busybox is up' after" boot.out || fail "no boot time: $(cat boot.out)"

# A root the initramfs cannot find.
start=$(part_field out/m.img 2 start)
e2label root.fs OTHER
dd if=root.fs of=out/m.img bs=512 seek="$start" conv=notrunc,sparse status=none
"$MKBOOTMEDIA" boot out/m.img --bus ide --timeout 120 --log broken.log \
	--expect 'root device LABEL=MINI_ROOT not found after 4s' \
	--expect 'starting a shell' --send '\n' \
	--run 'echo rescue-$((6 * 7))' --output '^rescue-42' --poweroff >broken.out 2>&1 ||
	{ cat broken.out; tail -c 3000 broken.log; fail "rescue shell"; }
grep -q 'sda2' broken.log || fail "the partitions the kernel knows are not listed"

# The command line /init honours: break= gives a shell at that point and 'exit' goes on;
# init=, rw and rootflags= reach the mount and the exec.
mkbm --cache "$cache" "$CASE/break.yml" -o out/b.img || { cat "$WORK/stderr"; fail "build break.yml"; }
"$MKBOOTMEDIA" boot out/b.img --bus virtio --timeout 120 --log break.log \
	--expect "stopped before the 'premount' step" --send 'exit\n' \
	--expect 'root LABEL=MINI_ROOT is /dev/vda2' \
	--run 'echo pid=$$' --output '^pid=1$' \
	--run 'busybox grep " / " /proc/mounts' --output ' / ext2 rw,nosuid' \
	--poweroff >break.out 2>&1 || { cat break.out; tail -c 3000 break.log; fail "break= and init="; }
