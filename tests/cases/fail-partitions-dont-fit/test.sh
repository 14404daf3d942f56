# partitions that together do not fit
cp -r "$CASE"/. . && expect_fail "recipe.yml:6:11: partitions[1].size: partition 'b' (32 MiB at 33 MiB) does not fit: it ends 1 MiB past the usable end of the 64 MiB image" recipe.yml -o out/x.img
