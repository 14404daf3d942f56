# packages.configure: first-boot on configure-vm's small real Debian (its recipe, with
# -D configure=first-boot): the build leaves the packages unpacked and the hook in the
# image; the first boot (QEMU under TCG, --write) runs it from mkbootmedia's initramfs. Its
# second step (run: 'check') fails until /etc/fixed exists: the hook says so and gives a
# shell, where the file is made; leaving the shell runs that step again (not the first;
# ischroot in it checks that the steps run chrooted, as maintainer scripts expect),
# then the hook removes itself and busybox init gives a shell. Checked offline before and
# after with debugfs: unpacked and hooked, then installed, unhooked, the run step's file.
cache=$(test_cache)
t0=$(date +%s)
mkbm --cache "$cache" "$CASE/../configure-vm/recipe.yml" -o out/fb.img -D configure=first-boot \
	-D check='test -e /etc/fixed && ischroot' || { cat "$WORK/stderr"; fail "build"; }
echo "build: $(($(date +%s) - t0)) s"
grep -q "^configure: left for the first boot: step 1 of /usr/lib/mkbootmedia/first-boot$" \
	"$WORK/stderr" || { cat "$WORK/stderr"; fail "configure step"; }
grep -q "^run: left for the first boot: step 2 of /usr/lib/mkbootmedia/first-boot$" \
	"$WORK/stderr" || { cat "$WORK/stderr"; fail "run step"; }
part_extract out/fb.img 2 root.fs
fsck_clean root.fs

# Offline, before: unpacked only, the hook there.
status=$(cat_file root.fs /var/lib/dpkg/status)
n=$(grep -c '^Package: ' <<<"$status")
[ "$n" -ge 30 ] || fail "only $n packages in the status file"
bad=$(awk '/^Package: / { p = $2 } /^Status: / && p != "mkbootmedia-provides" && $0 != "Status: install ok unpacked" { print p ": " $0 }' <<<"$status")
[ -z "$bad" ] || fail "not just unpacked: $bad"
expect_eq "$(stat_field root.fs /usr/lib/mkbootmedia/first-boot)" "0755 0 0 regular" "the hook"
hook=$(cat_file root.fs /usr/lib/mkbootmedia/first-boot)
expect_match "$hook" "^mkb_step 1 'configure' <<'MKB_FIRST_BOOT_1_0' \|\| return 1$" "step 1"
expect_match "$hook" "^mkb_step 2 'run' <<'MKB_FIRST_BOOT_2_0' \|\| return 1$" "step 2"
expect_match "$hook" '^exec /sbin/init "\$@"$' "the init's arguments"
dbg root.fs "stat /etc/passwd" | grep >/dev/null -c '^Inode:' && fail "/etc/passwd before the first boot"
dbg root.fs "stat /etc/run-step-ran" | grep >/dev/null -c '^Inode:' && fail "the run step ran at build time"

# The first boot.
t0=$(date +%s)
"$MKBOOTMEDIA" boot out/fb.img --bus virtio --write --timeout 900 --log console.log \
	--expect 'initrd: first boot: /usr/lib/mkbootmedia/first-boot configures the system' \
	--expect '^first-boot: step 1: configure$' \
	--expect '^==> dpkg --configure$' \
	--expect '^first-boot: step 2: run$' \
	--expect "^first-boot: step 2 \(run\) failed with exit status 1$" \
	--expect "starting a shell on the console; 'exit' tries again" \
	--expect '# ?$' \
	--run 'test -x /usr/lib/mkbootmedia/first-boot && cat /var/lib/mkbootmedia/first-boot.done' \
	--output '^1$' \
	--run 'touch /etc/fixed' \
	--send 'exit\n' \
	--expect 'first-boot: step 2: run$' \
	--expect '^first-boot: every step passed' \
	--expect '# ?$' \
	--run 'test ! -e /usr/lib/mkbootmedia/first-boot' \
	--run 'dpkg --audit | wc -l' --output '^0$' \
	--run 'busybox mount -o remount,ro /' \
	--poweroff >boot.out 2>&1 || { cat boot.out; tail -c 3000 console.log; fail "first boot"; }
echo "first boot: $(($(date +%s) - t0)) s"
n=$(grep -c '^first-boot: step 1: configure' console.log)
expect_eq "$n" 1 "times step 1 ran"

# Offline, after: configured, the hook gone, the run step done, the log kept.
part_extract out/fb.img 2 root.fs
fsck_clean root.fs
status=$(cat_file root.fs /var/lib/dpkg/status)
bad=$(awk '/^Package: / { p = $2 } /^Status: / && $0 != "Status: install ok installed" { print p ": " $0 }' <<<"$status")
[ -z "$bad" ] || fail "not installed: $bad"
for f in /usr/lib/mkbootmedia/first-boot /var/lib/mkbootmedia /usr/sbin/policy-rc.d; do
	dbg root.fs "stat $f" | grep >/dev/null -c '^Inode:' && fail "$f left after the first boot"
done
expect_eq "$(cat_file root.fs /etc/run-step-ran)" ok "the run step's file"
expect_eq "$(symlink_target root.fs /etc/alternatives/awk)" /usr/bin/mawk "the awk alternative"
cat_file root.fs /var/log/mkbootmedia-first-boot.log | grep >/dev/null -c '^first-boot: every step passed' ||
	fail "the first boot's log"
