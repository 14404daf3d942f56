# an undefined variable
cp -r "$CASE"/. . && expect_fail "recipe.yml:4:11: partitions[0].size: unknown variable 'rootsize' (define it under variables: or with -D rootsize=VALUE)" recipe.yml -o out/x.img
