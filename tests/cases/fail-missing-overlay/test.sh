# an overlay directory that does not exist
cp -r "$CASE"/. . && expect_fail "recipe.yml:7:5: overlays[0]: overlay directory 'no/such/dir': No such file or directory" recipe.yml -o out/x.img
