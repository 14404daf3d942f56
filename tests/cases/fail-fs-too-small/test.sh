# a partition too small for its filesystem
cp -r "$CASE"/. . && expect_fail "recipe.yml:3:41: partitions[0].filesystem: partition 'a' (512 KiB) is too small for ext4 (at least 2 MiB)" recipe.yml -o out/x.img
