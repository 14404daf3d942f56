# an owner the target does not know
cp -r "$CASE"/. . && expect_fail "recipe.yml:7:43: files[0].owner: 'alice' is not a user of the target" recipe.yml -o out/x.img
