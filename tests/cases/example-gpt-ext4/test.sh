# GPT with ext4 and ext3: type GUIDs, names, CRCs (sfdisk --verify), journal and features.
top=$(cd "$CASE/../../.." && pwd)
mkbm "$top/examples/gpt-ext4.yml" -o out/gpt.img
img=out/gpt.img
expect_eq "$(sfdisk --json $img | jq -r .partitiontable.label)" gpt "table"
sfdisk --verify $img >verify.txt 2>&1 || { cat verify.txt; fail "sfdisk --verify"; }
expect_eq "$(part_field $img 1 type)" 4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709 "root type GUID"
expect_eq "$(part_field $img 2 type)" 0FC63DAF-8483-4772-8E79-3D69D8477DE4 "srv type GUID"
expect_eq "$(part_field $img 1 name)" root "GPT name"
expect_eq "$(part_field $img 2 name)" srv "GPT name"
# rest ends before the backup table, on a MiB boundary
end=$(( $(part_field $img 2 start) + $(part_field $img 2 size) ))
expect_eq $end $((511 * 2048)) "rest end"
part_extract $img 1 root.fs
part_extract $img 2 srv.fs
fsck_clean root.fs
fsck_clean srv.fs
expect_match "$(sb_field root.fs 'Filesystem features')" 'has_journal .*extent .*64bit .*flex_bg .*metadata_csum' "ext4 features"
expect_match "$(sb_field srv.fs 'Filesystem features')" 'has_journal' "ext3 journal"
sb_field srv.fs 'Filesystem features' | grep >/dev/null -c extent && fail "ext3 has extents"
expect_eq "$(stat_field srv.fs /www/index.html)" "0644 33 33 regular" "owner www-data from Debian's fixed ids"
expect_eq "$(cat_file srv.fs /www/index.html)" "<h1>it works</h1>" "content"
uuid=$(sb_field root.fs 'Filesystem UUID')
expect_match "$(cat_file root.fs /etc/fstab)" "^LABEL=root +/ +ext4" "fstab"
