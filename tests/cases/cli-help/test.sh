# help COMMAND and COMMAND --help print that command's help; --version names the libraries
# in use; on a terminal, a successful build ends with what to do next (and not otherwise).
for cmd in build check boot flash; do
	a=$("$MKBOOTMEDIA" help $cmd)
	expect_match "$a" "^Usage: mkbootmedia $cmd " "help $cmd"
	if [ $cmd != build ]; then
		b=$("$MKBOOTMEDIA" $cmd --help)
		expect_eq "$b" "$a" "$cmd --help against help $cmd"
	fi
done
expect_match "$("$MKBOOTMEDIA" help boot)" "--firmware bios" "help boot lists --firmware's values"
expect_match "$("$MKBOOTMEDIA" help check)" "--offline" "help check"
if "$MKBOOTMEDIA" help nosuch 2>err.txt; then fail "help nosuch succeeded"; fi
grep -q "'nosuch' is not a command" err.txt || fail "help nosuch: $(cat err.txt)"
v=$("$MKBOOTMEDIA" --version)
for lib in libext2fs libparted libcryptsetup libarchive libcurl libyaml; do
	expect_match "$v" "^$lib [0-9]" "--version names $lib"
done
# The versions are the ones loaded: libext2fs's as e2fsprogs' own tools report it.
e2=$(dumpe2fs -V 2>&1 | sed -n 's/^[[:space:]]*Using EXT2FS Library version \([0-9.]*\).*/\1/p')
expect_match "$v" "^libext2fs $e2\$" "--version's libext2fs against dumpe2fs -V"

printf 'image: {size: 8MiB}\n' >r.yml
script -qec "'$MKBOOTMEDIA' r.yml -o out/t.img" /dev/null >tty.txt
grep -q "next: 'mkbootmedia boot out/t.img'" tty.txt ||
	{ cat tty.txt; fail "no hint on a terminal"; }
grep -q "mkbootmedia flash out/t.img /dev/sdX" tty.txt || fail "hint without how to flash"
"$MKBOOTMEDIA" r.yml -o out/n.img >out.txt 2>&1
if grep -q "^next:" out.txt; then fail "hint printed without a terminal"; fi
