# msdos holds four primary partitions
cp -r "$CASE"/. . && expect_fail "recipe.yml:7:5: partitions[4]: an msdos table holds at most 4 primary partitions (use image.table: gpt for more)" recipe.yml -o out/x.img
