# examples/debian-minbase.yml: minbase on a 2 GB key with the slim fragment's filters.
cache=${MKBOOTMEDIA_TEST_CACHE:-/var/cache/mkbootmedia-tests}
mkdir -p "$cache" 2>/dev/null && [ -w "$cache" ] || cache=$HOME/.cache/mkbootmedia-tests
mkbm --cache "$cache" "$CASE/../../../examples/debian-minbase.yml" -o out/d.img || { cat "$WORK/stderr"; fail build; }
part_extract out/d.img 2 root.fs
fsck_clean root.fs
expect_eq "$(symlink_target root.fs /sbin)" usr/sbin "merged /sbin"
expect_eq "$(stat_field root.fs /usr/bin/bash)" "0755 0 0 regular" "bash"
cat_file root.fs /usr/share/doc/bash/copyright | grep >/dev/null -c 'GNU' || fail "copyright kept"
dbg root.fs "ls /usr/share/man" | grep >/dev/null -c man1 && fail "man pages kept"
dbg root.fs "ls /usr/share/locale" | grep >/dev/null -cw de && fail "translations kept"
expect_eq "$(cat_file root.fs /etc/hostname)" debian "files stage after packages"
cat_file root.fs /etc/fstab | grep >/dev/null -c '^LABEL=DEBIAN_ROOT ' || fail "fstab"
