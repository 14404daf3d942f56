# a size with a bad unit
cp -r "$CASE"/. . && expect_fail "recipe.yml:4:11: partitions[0].size: '12XB' is not a size (use B, KiB, MiB, GiB, %, or rest)" recipe.yml -o out/x.img
