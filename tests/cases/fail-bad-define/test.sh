# -D without a value
cp -r "$CASE"/. . && expect_fail "-D 'novalue': expected NAME=VALUE" recipe.yml -D novalue -o out/x.img
