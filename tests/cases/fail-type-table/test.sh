# a partition type the table cannot hold
cp -r "$CASE"/. . && expect_fail "recipe.yml:3:33: partitions[0].type: type 'bios-grub' has no msdos id" recipe.yml -o out/x.img
