# examples/usb-debian.yml (configured, with a kernel, an initramfs and GRUB for BIOS and
# UEFI) built twice side by side from the shared cache, with -j 1 and -j 2: the same bytes
# (cmp); on a difference, mkbootmedia diff says where. Every ext filesystem checks clean.
top=$(cd "$CASE/../../.." && pwd)
cache=$(test_cache)
recipe=$top/examples/usb-debian.yml
"$MKBOOTMEDIA" -q -j 1 --cache "$cache" "$recipe" -o out/a.img 2>a.err &
pid=$!
mkbm -j 2 --cache "$cache" "$recipe" -o out/b.img || { cat "$WORK/stderr"; fail "build b"; }
wait "$pid" || { cat a.err; fail "build a"; }
if ! cmp out/a.img out/b.img; then
	"$MKBOOTMEDIA" diff out/a.img out/b.img | head -60 >&2 || true
	fail "two builds of usb-debian differ"
fi
n=$(sfdisk --json out/a.img | jq '.partitiontable.partitions | length')
for i in $(seq 1 "$n"); do
	part_extract out/a.img "$i" p$i.fs
	if dumpe2fs -h p$i.fs >/dev/null 2>&1; then
		fsck_clean p$i.fs
	fi
done
