# one partition larger than the image
cp -r "$CASE"/. . && expect_fail "recipe.yml:4:11: partitions[0].size: partition 'root' (128 MiB at 1 MiB) does not fit" recipe.yml -o out/x.img
