# UUIDs: a recipe-given filesystem UUID is the one dumpe2fs reads; fstab by uuid names each
# filesystem by the UUID dumpe2fs reads; by partuuid, by the GUID sfdisk reads.
cat >recipe.yml <<'YAML'
image: {size: 64MiB, table: gpt, seed: u, id: 3c1f8a52-0b7e-4d6a-9c3e-1f2a3b4c5d6e}
partitions:
  - name: root
    size: 32MiB
    uuid: 9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a
    filesystem: {type: ext4, mount: /, uuid: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d}
  - name: var
    size: rest
    filesystem: {type: ext2, label: VAR, mount: /var}
fstab: {by: uuid, tmpfs: []}
YAML
mkbm recipe.yml -o out/u.img
expect_eq "$(sfdisk --json out/u.img | jq -r .partitiontable.id)" 3C1F8A52-0B7E-4D6A-9C3E-1F2A3B4C5D6E "disk GUID"
expect_eq "$(part_field out/u.img 1 uuid)" 9F8E7D6C-5B4A-4392-8170-6F5E4D3C2B1A "partition GUID"
part_extract out/u.img 1 root.fs
part_extract out/u.img 2 var.fs
fsck_clean root.fs
fsck_clean var.fs
expect_eq "$(sb_field root.fs 'Filesystem UUID')" 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d "given UUID"
var_uuid=$(sb_field var.fs 'Filesystem UUID')
fstab=$(cat_file root.fs /etc/fstab)
expect_match "$fstab" '^UUID=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d +/ +ext4 ' "root by UUID"
expect_match "$fstab" "^UUID=$var_uuid +/var +ext2 " "var by the UUID dumpe2fs reads"
printf '%s\n' "$fstab" | grep >/dev/null -c '^tmpfs' && fail "tmpfs: [] still wrote tmpfs lines"

sed -i 's/by: uuid/by: partuuid/' recipe.yml
mkbm recipe.yml -o out/p.img
part_extract out/p.img 1 root2.fs
var_part=$(part_field out/p.img 2 uuid | tr A-Z a-z)
expect_match "$(cat_file root2.fs /etc/fstab)" "^PARTUUID=$var_part +/var " "var by the GUID sfdisk reads"
