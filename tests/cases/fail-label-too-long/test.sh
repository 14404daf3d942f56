# ext2 labels hold 16 bytes
cp -r "$CASE"/. . && expect_fail "recipe.yml:3:59: partitions[0].filesystem.label: 'THIS_LABEL_IS_TOO_LONG' is longer than the 16 bytes" recipe.yml -o out/x.img
