# a mode that is not octal
cp -r "$CASE"/. . && expect_fail 'recipe.yml:7:42: files[0].mode: '\''0999'\'' is not an octal mode' recipe.yml -o out/x.img
