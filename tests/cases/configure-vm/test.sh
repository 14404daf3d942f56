# packages.configure: vm on a small real Debian (bookworm from the mirror, cached): the
# maintainer scripts and the run: steps run in the image's own kernel under QEMU (TCG here),
# the steps with QEMU's user network (DNS and HTTP). Checked offline with debugfs: every
# package installed, /usr/bin/awk through the alternatives, /etc/passwd, the run steps'
# files, nothing of the build-time initramfs in /boot or of the run (resolv.conf,
# policy-rc.d) in the root; then the image boots once and dpkg --audit finds nothing. A
# failing run: step fails the build with its output and exit status, and no image is left.
cache=$(test_cache)
# The check step uses QEMU's user network: a name through 10.0.2.3, a file over HTTP.
net='getent ahostsv4 deb.debian.org >/etc/run-step-dns
ip=$(awk "{ print \$1; exit }" /etc/run-step-dns)
busybox wget -q -O /etc/run-step-http --header "Host: deb.debian.org" "http://$ip/debian/dists/bookworm/Release.gpg"'
t0=$(date +%s)
mkbm --cache "$cache" "$CASE/recipe.yml" -o out/vm.img -D check="$net" ||
	{ cat "$WORK/stderr"; fail "build"; }
echo "build: $(($(date +%s) - t0)) s"
grep -q "^configure: the image's kernel [^ ]* in QEMU" "$WORK/stderr" || fail "configure not in QEMU"
grep -q "^run: the image's kernel [^ ]* in QEMU" "$WORK/stderr" || fail "run not in QEMU"
grep -q "^run: run: marker$" "$WORK/stderr" || fail "the run step's '==> ' line is not at info level"
part_extract out/vm.img 1 boot.fs
part_extract out/vm.img 2 root.fs
fsck_clean boot.fs
fsck_clean root.fs

# Every package configured.
status=$(cat_file root.fs /var/lib/dpkg/status)
n=$(grep -c '^Package: ' <<<"$status")
[ "$n" -ge 30 ] || fail "only $n packages in the status file"
bad=$(awk '/^Package: / { p = $2 } /^Status: / && $0 != "Status: install ok installed" { print p ": " $0 }' <<<"$status")
[ -z "$bad" ] || fail "not installed: $bad"

# What the maintainer scripts and the run step made.
expect_eq "$(symlink_target root.fs /usr/bin/awk)" /etc/alternatives/awk "/usr/bin/awk"
expect_eq "$(symlink_target root.fs /etc/alternatives/awk)" /usr/bin/mawk "the awk alternative"
expect_eq "$(stat_field root.fs /usr/bin/mawk)" "0755 0 0 regular" "/usr/bin/mawk"
cat_file root.fs /etc/passwd | grep >/dev/null -c '^root:[^:]*:0:0:root:/root:' || fail "/etc/passwd"
cat_file root.fs /etc/group | grep >/dev/null -c '^root:[^:]*:0:' || fail "/etc/group"
expect_eq "$(cat_file root.fs /etc/run-step-ran)" ok "the run step's file"
cat_file root.fs /etc/run-step-dns | grep >/dev/null -c 'deb\.debian\.org' || fail "no DNS in the run"
cat_file root.fs /etc/run-step-http | grep >/dev/null -c '^-----BEGIN PGP SIGNATURE-----' ||
	fail "no HTTP in the run"
for f in /etc/resolv.conf /usr/sbin/policy-rc.d /etc/dpkg/dpkg.cfg.d/mkbootmedia-unsafe-io; do
	dbg root.fs "stat $f" | grep >/dev/null -c '^Inode:' && fail "$f left in the image"
done

# /boot: the kernel package's files, mkbootmedia's own initramfs and GRUB, nothing else;
# that initramfs is the boot one (templates/init), not the vm's.
ver=$(dbg boot.fs "ls -p /" | awk -F/ '$6 ~ /^vmlinuz-/ { sub("vmlinuz-", "", $6); print $6 }')
[ -n "$ver" ] || fail "no kernel in /boot"
names=$(dbg boot.fs "ls -p /" | awk -F/ 'NF > 5 && $6 != "." && $6 != ".." { print $6 }' | sort | tr '\n' ' ')
expect_eq "$names" "System.map-$ver config-$ver grub initrd.img-$ver lost+found vmlinuz-$ver " "/boot"
names=$(dbg root.fs "ls -p /boot" | awk -F/ 'NF > 5 && $6 != "." && $6 != ".." { print $6 }' | tr '\n' ' ')
expect_eq "$names" "" "/boot of the root filesystem (the mount point)"
dbg boot.fs "dump /initrd.img-$ver initrd.img"
zstd -dc initrd.img | cpio -it 2>/dev/null >initrd.list
grep -qx etc/initrd.conf initrd.list || fail "the initramfs in /boot is not the boot one"
grep -qx etc/vm.conf initrd.list && fail "the vm's initramfs is in /boot"

# Booted once: nothing for dpkg --audit, every package "ii".
t0=$(date +%s)
"$MKBOOTMEDIA" boot out/vm.img --bus virtio --timeout 600 --log console.log \
	--expect '# ?$' \
	--run 'dpkg --audit | wc -l' --output '^0$' \
	--run "dpkg-query -W -f '\${db:Status-Abbrev}\\n' | grep -v '^ii ' | wc -l" --output '^0$' \
	--run 'awk "BEGIN { print 6 * 7 }"' --output '^42$' \
	--poweroff >boot.out 2>&1 || { cat boot.out; tail -c 3000 console.log; fail "boot"; }
echo "boot: $(($(date +%s) - t0)) s"

# A failing step: its output and status, and no image.
t0=$(date +%s)
if mkbm --cache "$cache" "$CASE/recipe.yml" -o out/bad.img -D check='echo about to fail; exit 3'; then
	fail "a failing run step did not fail the build"
fi
echo "failing build: $(($(date +%s) - t0)) s"
grep -q "^  run| about to fail$" "$WORK/stderr" || { cat "$WORK/stderr"; fail "the step's output"; }
grep -q "^error: run: run: failed with exit status 3; its last output:$" "$WORK/stderr" || fail "the one message"
left=$(ls -A out | grep -Ev '^vm\.img(\.bmap)?$' || :)
[ -z "$left" ] || fail "files left in the output directory: $left"
