# configure-compare for Debian 13: trixie minbase with systemd-sysv and cron, configured
# through the user namespace, against mmdebstrap (unshare mode) with the same suites; the
# differences allowed are in this case's allowed.txt.
COMPARE_SUITE=trixie COMPARE_INCLUDE=systemd-sysv,cron
source "$CASE/../configure-compare/test.sh"
