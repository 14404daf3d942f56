# unknown keys are errors, with the nearest valid key
cp -r "$CASE"/. . && expect_fail "recipe.yml:4:5: partitions[0].sise: unknown key (did you mean 'size'?)" recipe.yml -o out/x.img
