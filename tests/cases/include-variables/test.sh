# include: relative to the including file, later values override, name+: appends;
# variables substituted and overridden with -D.
mkdir -p devices
cat >devices/card.yml <<'YAML'
image: {size: 256MiB, table: msdos, id: "0x0badcafe"}
variables: {label: FROMDEVICE, bootsize: 32MiB}
files:
  - {path: /etc/device, content: "card\n"}
YAML
cat >recipe.yml <<'YAML'
include: devices/card.yml
variables: {label: FROMRECIPE}
image: {size: 128MiB, seed: inc}
partitions:
  - name: boot
    size: ${bootsize}
    filesystem: {type: ext2, label: "${label}", mount: /}
files+:
  - {path: /etc/recipe, content: "${label} costs $${not_a_variable}\n"}
fstab: false
YAML
mkbm recipe.yml -D bootsize=48MiB -o out/a.img
expect_eq "$(stat -c %s out/a.img)" $((128 << 20)) "recipe overrides the device's size"
expect_eq "$(sfdisk --json out/a.img | jq -r .partitiontable.id)" 0x0badcafe "device's disk id kept"
expect_eq "$(part_field out/a.img 1 size)" $((48 * 2048)) "-D overrides a variable"
part_extract out/a.img 1 root.fs
fsck_clean root.fs
expect_eq "$(sb_field root.fs 'Filesystem volume name')" FROMRECIPE "recipe variable overrides the device's"
expect_eq "$(cat_file root.fs /etc/device)" card "files from the include kept"
expect_eq "$(cat_file root.fs /etc/recipe)" 'FROMRECIPE costs ${not_a_variable}' "files+ appended, \$\${ escaped"
