# unknown top-level key
cp -r "$CASE"/. . && expect_fail "recipe.yml:2:1: partition: unknown key (did you mean 'partitions'?)" recipe.yml -o out/x.img
