# a file where the target has a directory
cp -r "$CASE"/. . && expect_fail "recipe.yml:8:5: files[1]: cannot replace directory '/etc' with a non-directory" recipe.yml -o out/x.img
