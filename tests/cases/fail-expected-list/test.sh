# a mapping where a list belongs
cp -r "$CASE"/. . && expect_fail "recipe.yml:3:3: partitions: expected a list, got a mapping" recipe.yml -o out/x.img
