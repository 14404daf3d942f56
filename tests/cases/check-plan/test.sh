# check prints the plan (table with MiB offsets, filesystems, stages) and writes nothing.
top=$(cd "$CASE/../../.." && pwd)
cd out
"$MKBOOTMEDIA" check "$top/examples/usb-basic.yml" >plan.txt 2>err.txt
grep -q '^stages: image partition mkfs fstab files$' plan.txt || { cat plan.txt; fail "stage list"; }
grep -Eq '^ +1 +boot +1\.00 +64\.00 +linux +ext2 +PRIVDEB_BOOT +/boot \(bootable\)$' plan.txt ||
	{ cat plan.txt; fail "boot line"; }
grep -Eq '^ +2 +rootfs +65\.00 +3749\.00 +linux +ext2 +PRIVDEB_ROOT +/$' plan.txt ||
	{ cat plan.txt; fail "root line"; }
grep -q 'LABEL=PRIVDEB_ROOT' plan.txt || fail "fstab in plan"
expect_eq "$(ls -A | sort | tr '\n' ' ')" "err.txt plan.txt " "check wrote nothing"
