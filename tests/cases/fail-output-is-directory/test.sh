# the output is a directory
cp -r "$CASE"/. . && expect_fail "output 'out' exists and is not a regular file" recipe.yml -o out
