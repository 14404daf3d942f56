# mkbootmedia: build, test, install.
#   make            build ./mkbootmedia
#   make deps       install missing build and test dependencies (Debian; apt-get as root or sudo)
#   make check      build and run the whole test suite (unit + case tests)
#   make example    build examples/usb-basic.yml into out/usb-basic.img
#   make install    PREFIX=/usr/local DESTDIR= (make uninstall with the same variables)
#   make docs       the man pages and the shell completion, made by ./mkbootmedia doc
#   make check-asan the suite with AddressSanitizer and UBSan; make check-valgrind: under valgrind
#   make fuzz       the libFuzzer targets (tests/fuzz); make fuzz-smoke: each one a minute
VERSION := 0.1.0
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/mkbootmedia
LIBEXECDIR ?= $(PREFIX)/lib/mkbootmedia
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions

CC ?= gcc
PKGS := yaml-0.1 libparted ext2fs com_err uuid libcrypto libarchive libcurl liblzma zlib libzstd \
	libcryptsetup fuse3 libxcrypt
# Evaluated on first use, not when make reads this file: `make deps example` installs the
# -dev packages before the first compile needs their flags.
PKG_CFLAGS = $(eval PKG_CFLAGS := $(call pkgconfig,--cflags))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $(call pkgconfig,--libs))$(PKG_LIBS)
pkgerr = pkg-config finds not all of $(PKGS): run 'make deps' first
pkgconfig = $(or $(shell pkg-config $(1) $(PKGS) 2>/dev/null),$(error $(pkgerr)))
# With `deps` among the goals, nothing compiles before it has run (also under -j).
DEPS_FIRST := $(filter deps,$(MAKECMDGOALS))

WARN := -Wall -Wextra -Wshadow -Wpointer-arith -Wmissing-prototypes -Wstrict-prototypes \
	-Wformat=2 -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers
ifdef WERROR
WARN += -Werror
endif
CFLAGS ?= -O2 -g
override CFLAGS += -std=gnu17 $(WARN) -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
	-DMKBOOTMEDIA_VERSION='"$(VERSION)"' -DMKBOOTMEDIA_DATADIR='"$(DATADIR)"' \
	-DMKBOOTMEDIA_LIBEXECDIR='"$(LIBEXECDIR)"' \
	$(addprefix -I,$(LAYERS)) $(PKG_CFLAGS)
LDLIBS += $(PKG_LIBS) -lpthread

# The layers, each using only those before it (tests/check-layers enforces it): the base
# (logging, util, cleanup), the modules, the build context with the stage interface and the
# target runner, the stages, the driver and CLI.
LAYERS := base lib core stages builder
LIB_SRC := $(sort $(foreach d,$(LAYERS),$(wildcard $(d)/*.c)))
LIB_SRC := $(filter-out builder/main.c,$(LIB_SRC))
LIB_OBJ := $(LIB_SRC:.c=.o)
# Header dependencies come from the compiler (-MMD): see the -include at the end.
UNIT_SRC := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BIN := $(UNIT_SRC:.c=)
DEPFILES := $(LIB_OBJ:.o=.d) builder/main.d $(UNIT_SRC:.c=.d) bench/cryptio-bench.d \
	bench/output-bench.d

all: mkbootmedia target/mkbootmedia-initrd docs

%.o: %.c | $(DEPS_FIRST)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# The templates are compiled in (.incbin).
lib/templates.o: $(filter-out templates/README,$(wildcard templates/*))

libmkbootmedia.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

# --version: libcryptsetup has no run-time version call.
builder/main.o: override CFLAGS += \
	-DMKBOOTMEDIA_CRYPTSETUP_VERSION='"$(shell pkg-config --modversion libcryptsetup)"'

mkbootmedia: builder/main.o libmkbootmedia.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The target's initramfs generator (target/main.c), which the build copies into images as
# /usr/sbin/mkbootmedia-initrd: static, so it runs on any amd64 target whatever its libraries.
# Its objects are compiled apart (target/obj/), with flags of their own: no sanitizer links
# statically.
TARGET_SRC := target/main.c base/log.c base/util.c lib/cpio.c lib/kmod.c lib/elfinfo.c \
	lib/debver.c lib/initrdgen.c lib/grubmenu.c
TARGET_OBJ := $(patsubst %.c,target/obj/%.o,$(TARGET_SRC))
TARGET_CFLAGS := -O2 -std=gnu17 $(WARN) -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
	-DMKBOOTMEDIA_VERSION='"$(VERSION)"' $(addprefix -I,$(LAYERS))
TARGET_LIBS := -larchive -llzma -lzstd -lz -lpthread
DEPFILES += $(TARGET_OBJ:.o=.d)

target/obj/%.o: %.c | $(DEPS_FIRST)
	@mkdir -p $(@D)
	$(CC) $(TARGET_CFLAGS) -MMD -MP -c -o $@ $<

target/mkbootmedia-initrd: $(TARGET_OBJ)
	$(CC) -static -s -o $@ $^ $(TARGET_LIBS)

tests/unit/test-%: tests/unit/test-%.c libmkbootmedia.a | $(DEPS_FIRST)
	$(CC) $(CFLAGS) -Itests/unit -MMD -MP $(LDFLAGS) -o $@ $< libmkbootmedia.a $(LDLIBS)

unit: $(UNIT_BIN)

bench/cryptio-bench: bench/cryptio-bench.c libmkbootmedia.a
	$(CC) $(CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $< libmkbootmedia.a $(LDLIBS)

bench/output-bench: bench/output-bench.c libmkbootmedia.a
	$(CC) $(CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $< libmkbootmedia.a $(LDLIBS)

check: mkbootmedia target/mkbootmedia-initrd unit
	tests/run

# The suite again with AddressSanitizer and UBSan.
check-asan:
	$(MAKE) clean
	$(MAKE) CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined" check

# Fuzzing (tests/fuzz/README): the library built again with clang, ASan and UBSan into
# $(FUZZ_DIR), apart from the gcc build; one libFuzzer binary per tests/fuzz/fuzz-*.c, seed
# corpora and the recipe dictionary generated from the examples and tests.
FUZZ_CC ?= clang
FUZZ_DIR := tests/fuzz/build
FUZZ_TIME ?= 60
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
	-Wno-format-nonliteral
FUZZ_CFLAGS = $(filter-out -O2 -Werror,$(CFLAGS)) -O1 $(FUZZ_SAN)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz-%.c,%,$(wildcard tests/fuzz/fuzz-*.c))
FUZZ_BIN := $(addprefix $(FUZZ_DIR)/fuzz-,$(FUZZ_NAMES))
FUZZ_OBJ := $(addprefix $(FUZZ_DIR)/,$(LIB_OBJ))
# The recipe target confines includes to its temporary directory (fuzz-recipe.c).
FUZZ_LDFLAGS_recipe := -Wl,--wrap=read_file

$(FUZZ_DIR)/%.o: %.c | $(DEPS_FIRST)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/lib/templates.o: $(filter-out templates/README,$(wildcard templates/*))

$(FUZZ_DIR)/libmkbootmedia.a: $(FUZZ_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/fuzz.h $(FUZZ_DIR)/libmkbootmedia.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Itests/fuzz -DFUZZ_SRCDIR='"$(CURDIR)"' \
		-MMD -MP -o $@ $< \
		$(FUZZ_DIR)/libmkbootmedia.a $(LDLIBS) $(FUZZ_LDFLAGS_$*)

$(FUZZ_DIR)/seeds.stamp: tests/fuzz/seeds $(wildcard examples/*.yml tests/cases/*/*)
	tests/fuzz/seeds $(FUZZ_DIR)
	touch $@

fuzz: $(FUZZ_BIN) $(FUZZ_DIR)/seeds.stamp

# Each target for FUZZ_TIME seconds on its corpus and its regressions; any crash fails.
fuzz-smoke: fuzz
	tests/fuzz/run $(FUZZ_DIR) $(FUZZ_TIME) $(FUZZ_NAMES)

# The unit tests and a few case builds under valgrind (tests/fuzz/README).
check-valgrind: mkbootmedia target/mkbootmedia-initrd unit
	tests/check-valgrind

deps:
	tools/install-deps

example: mkbootmedia
	mkdir -p out
	./mkbootmedia examples/usb-basic.yml -o out/usb-basic.img

# The man pages and the completion come from the program's own tables (builder/doc.c).
DOCS := doc/mkbootmedia.1 doc/mkbootmedia-recipe.5 doc/mkbootmedia.bash doc/_mkbootmedia
doc/mkbootmedia.1: DOC := man1
doc/mkbootmedia-recipe.5: DOC := man5
doc/mkbootmedia.bash: DOC := bash
doc/_mkbootmedia: DOC := zsh
$(DOCS): mkbootmedia
	@mkdir -p doc
	./mkbootmedia doc $(DOC) >$@.tmp && mv $@.tmp $@

docs: $(DOCS)

# The examples and overlays go next to the recipes, so that an installed example's
# ../recipes/ and ../overlays/ resolve.
DATA := recipes templates examples overlays
install: mkbootmedia target/mkbootmedia-initrd docs
	install -Dm755 mkbootmedia $(DESTDIR)$(BINDIR)/mkbootmedia
	install -Dm755 target/mkbootmedia-initrd $(DESTDIR)$(LIBEXECDIR)/mkbootmedia-initrd
	install -d $(DESTDIR)$(DATADIR)
	cp -r $(DATA) $(DESTDIR)$(DATADIR)/
	install -Dm644 doc/mkbootmedia.1 $(DESTDIR)$(MANDIR)/man1/mkbootmedia.1
	install -Dm644 doc/mkbootmedia-recipe.5 $(DESTDIR)$(MANDIR)/man5/mkbootmedia-recipe.5
	install -Dm644 doc/mkbootmedia.bash $(DESTDIR)$(BASHCOMPDIR)/mkbootmedia
	install -Dm644 doc/_mkbootmedia $(DESTDIR)$(ZSHCOMPDIR)/_mkbootmedia

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/mkbootmedia $(DESTDIR)$(MANDIR)/man1/mkbootmedia.1 \
		$(DESTDIR)$(LIBEXECDIR)/mkbootmedia-initrd \
		$(DESTDIR)$(MANDIR)/man5/mkbootmedia-recipe.5 \
		$(DESTDIR)$(BASHCOMPDIR)/mkbootmedia $(DESTDIR)$(ZSHCOMPDIR)/_mkbootmedia
	rm -rf $(addprefix $(DESTDIR)$(DATADIR)/,$(DATA))
	-rmdir $(DESTDIR)$(DATADIR) $(DESTDIR)$(LIBEXECDIR)

clean:
	rm -f mkbootmedia libmkbootmedia.a $(foreach d,$(LAYERS),$(d)/*.o $(d)/*.d) $(UNIT_BIN) \
		tests/unit/*.d bench/cryptio-bench bench/output-bench bench/*.d \
		target/mkbootmedia-initrd
	rm -rf doc $(FUZZ_DIR) target/obj

.PHONY: all unit check check-asan deps example docs install uninstall clean fuzz fuzz-smoke \
	check-valgrind

-include $(DEPFILES) $(wildcard $(FUZZ_DIR)/*/*.d $(FUZZ_DIR)/*.d)
