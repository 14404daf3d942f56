# two partitions with one name
cp -r "$CASE"/. . && expect_fail "recipe.yml:5:11: partitions[1].name: duplicate partition name 'root' (also partitions[0])" recipe.yml -o out/x.img
