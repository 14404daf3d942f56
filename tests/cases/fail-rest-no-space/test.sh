# rest with nothing left
cp -r "$CASE"/. . && expect_fail "recipe.yml:6:11: partitions[1].size: no space is left for partition 'b' (size: rest)" recipe.yml -o out/x.img
