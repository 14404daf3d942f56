# The files stage's verify knows which paths earlier overlays and files make: a file over a
# directory, a directory over a file, a path through a file, for check and for a build,
# with the words the tree itself uses. Owner names no one could create are refused too,
# unless the recipe brings its own /etc/passwd.
head='partitions:
  - {name: boot, size: 8MiB, filesystem: {type: ext2, mount: /boot}}
  - {name: root, size: 16MiB, filesystem: {type: ext2, mount: /}}
fstab: false
flash: false'
both() { # both TEXT RECIPE-TAIL
	printf '%s\n%s\n' "$head" "$2" >r.yml
	expect_fail "$1" check r.yml
	expect_fail "$1" r.yml -o out/x.img
}
mkdir -p ov1/d ov2 ov3/x
printf 'x\n' >ov1/x
printf 'x\n' >ov2/d
printf 'y\n' >ov3/x/y

both "r.yml:6:33: files[1]: cannot resolve '/a/b': '/a' is not a directory" \
	'files: [{path: /a, content: x}, {path: /a/b, content: y}]'
both "r.yml:6:33: files[1]: cannot create directory '/a': a file is in the way" \
	'files: [{path: /a, content: x}, {path: /a, directory: true}]'
both "r.yml:6:41: files[1]: cannot replace directory '/etc' with a non-directory" \
	'files: [{path: /etc//motd, content: x}, {path: /etc/, symlink: /x}]'
both "r.yml:6:9: files[0]: cannot replace directory '/boot' with a non-directory" \
	'files: [{path: /boot, content: x}]'
both "r.yml:6:17: overlays[1]: cannot replace directory '/d' with a non-directory" \
	'overlays: [ov1, ov2]'
both "r.yml:6:17: overlays[1]: cannot create directory '/x': a file is in the way" \
	'overlays: [ov1, ov3]'
both "r.yml:7:9: files[0]: cannot resolve '/x/z': '/x' is not a directory" \
	'overlays: [{source: ov1, target: /}]
files: [{path: /x/z, content: x}]'
both "r.yml:6:39: files[0].group: 'nobody-group' is not a group of the target" \
	'files: [{path: /a, content: x, group: nobody-group}]'

# What is allowed still builds: a directory made twice, a file replacing a file, a path
# under a symlink, and an owner of the recipe's own /etc/passwd (numbers always work).
printf '%s\n%s\n' "$head" 'overlays: [ov1]
files:
  - {path: /etc/passwd, content: "root:x:0:0::/root:/bin/sh\nalice:x:1234:1234::/home/alice:/bin/sh\n"}
  - {path: /d, directory: true}
  - {path: /x, content: again}
  - {path: /l, symlink: /d}
  - {path: /l/f, content: via the link}
  - {path: /home/alice/notes, content: hi, owner: alice, group: 99}' >ok.yml
mkbm check ok.yml >/dev/null || { cat "$WORK/stderr" >&2; fail "check refused ok.yml"; }
mkbm ok.yml -o out/x.img || { cat "$WORK/stderr" >&2; fail "build refused ok.yml"; }
part_extract out/x.img 2 root.fs
expect_eq "$(stat_field root.fs /home/alice/notes)" "0644 1234 99 regular" "alice's file"
expect_eq "$(cat_file root.fs /d/f)" "via the link" "a file through the symlink"
