# Every packages list key takes a comma-separated string as well as a list; an error about one
# item of such a string points at the string (these crashed `check` when the item was
# looked up as a list item). Each form for check and for a build.
mkdir -p pkg/usr/share/p debs
printf 'x\n' >pkg/usr/share/p/x
mkdeb debs p 1 pkg
head='partitions: [{name: r, size: 16MiB, filesystem: {type: ext2, mount: /}}]'
both() { # both TEXT RECIPE
	printf '%s\n' "$2" >r.yml
	expect_fail "$1" check r.yml
	expect_fail "$1" r.yml -o out/x.img
}
both "r.yml:2:35: packages.include: 'Bad_Name' is not a package name" "$head
packages: {mirror: none, include: \"Bad_Name\", debs: [debs]}"
both "r.yml:2:35: packages.exclude: 'a b' is not a package name" "$head
packages: {mirror: none, exclude: \"p, a b\", debs: [debs]}"
both "r.yml:2:26: packages.path-include: 'usr' is not an absolute glob" "$head
packages: {path-include: '/a,usr'}"
both "r.yml:2:24: packages.components: 'Bad/x' is not a component name" "$head
packages: {components: \"main, Bad/x\"}"
both "r.yml:2:50: packages.extra-suites[0].components: 'x/y' is not a component name" "$head
packages: {extra-suites: [{suite: s, components: 'main,x/y'}]}"
both "r.yml:2:64: packages.include: no package 'nosuchpkg' in the local debs" "$head
packages: {mirror: none, variant: none, debs: [debs], include: nosuchpkg}"
both "r.yml:2:64: packages.include: no package 'nosuchpkg' in the local debs" "$head
packages: {mirror: none, variant: none, debs: [debs], include: 'p, nosuchpkg'}"
# The init system's package is added to include: an unknown one is named at system.init.
both "r.yml:3:16: system.init: no package 'systemd-sysv' in the local debs" "$head
packages: {mirror: none, variant: none, debs: [debs], include: p}
system: {init: systemd}"
both "r.yml:3:16: system.init: no package 'systemd-sysv' in the local debs" "$head
packages: {mirror: none, variant: none, debs: [debs]}
system: {init: systemd}"
# configure's word lists point at the item in a list.
both "r.yml:3:26: services.enable[1]: 'a;b' is not a valid name here" "$head
packages: {mirror: none, variant: none, debs: [debs], include: p}
services: {enable: [ssh, 'a;b']}"
