# libyaml's error with its position
cp -r "$CASE"/. . && expect_fail "recipe.yml:3:11: did not find expected ',' or ']'" recipe.yml -o out/x.img
