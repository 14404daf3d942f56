# includes that loop
cp -r "$CASE"/. . && expect_fail "includes 'b.yml', which includes 'recipe.yml'" recipe.yml -o out/x.img
