# a files: source that does not exist
cp -r "$CASE"/. . && expect_fail "recipe.yml:7:31: files[0].source: cannot open 'missing.txt': No such file or directory" recipe.yml -o out/x.img
