# two active partitions on msdos
cp -r "$CASE"/. . && expect_fail "recipe.yml:4:37: partitions[1].bootable: only one msdos partition can be active" recipe.yml -o out/x.img
