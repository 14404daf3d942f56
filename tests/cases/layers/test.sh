# The #include lines respect the layers (tools/check-layers), and the check fails on each kind
# of violation: an include going up a layer, a stage including another stage's header, and a
# circle between two modules.
top=$(dirname "$MKBOOTMEDIA")
out=$("$top/tools/check-layers" "$top") || fail "tools/check-layers: $out"

copy() {
	rm -rf tree && mkdir tree && cp -r "$top"/{base,lib,core,stages,builder} tree/
}
broken() { # WHAT EXPECTED-TEXT
	if out=$("$top/tools/check-layers" tree); then
		fail "check-layers accepted $1"
	fi
	expect_match "$out" "$2" "check-layers on $1"
}
copy && sed -i '1a #include "build.h"' tree/lib/cpio.c
broken "lib/cpio.c including core/build.h" "^lib/cpio.c:2: includes core/build.h: layer 'core' is above 'lib'"
copy && sed -i '1a #include "fstab.h"' tree/stages/run.c
broken "a stage including another's header" "^stages/run.c:2: includes stages/fstab.h: a stage includes no other"
copy && sed -i '1a #include "cpio.h"' tree/lib/kmod.h && sed -i '1a #include "kmod.h"' tree/lib/cpio.c
broken "a circle between lib/kmod and lib/cpio" "^circle: lib/(cpio -> lib/kmod -> lib/cpio|kmod -> lib/cpio -> lib/kmod)$"
