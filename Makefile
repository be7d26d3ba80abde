# sealbox: a plain Makefile. See README.md.
#
#   make                      build ./sealbox
#   make check                install test dependencies, build, run all tests
#   make SANITIZE=address,undefined check
#   make bench | demo | install [PREFIX=/usr/local] [DESTDIR=]
#   DEVELOPER=1 (or CI set)   turn warnings into errors

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
CC ?= cc
CFLAGS ?= -O2 -g
PKG_CONFIG ?= pkg-config
PROVE ?= prove

PKGS := fuse3 libgcrypt libgit2 zlib
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -linotifytools -lpthread

SB_CFLAGS := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter \
	-D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DFUSE_USE_VERSION=314 \
	-I. -include cmd/banned.h $(PKG_CFLAGS) -MMD -MP
ifneq ($(DEVELOPER)$(CI),)
SB_CFLAGS += -Werror
endif

ifdef SANITIZE
B := build-san
SB_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
SB_LDFLAGS += -fsanitize=$(SANITIZE)
else
B := build
endif

LIB_SRC := $(wildcard crypto/*.c fs/*.c sync/*.c)
CMD_SRC := $(wildcard cmd/*.c)
UNIT_SRC := $(wildcard tests/unit/t-*.c)
BENCH_SRC := $(wildcard tests/bench/*.c)
TOOL_SRC := $(wildcard tests/tools/*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
CMD_OBJ := $(CMD_SRC:%.c=$(B)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(B)/tests/bench/%)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(B)/tests/tools/%)
LIB := $(B)/libsealbox.a

ifdef SANITIZE
SEALBOX := $(B)/sealbox
else
SEALBOX := sealbox
endif

all: $(SEALBOX)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(SB_CFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(SEALBOX): $(CMD_OBJ) $(LIB)
	$(CC) $(SB_LDFLAGS) $(LDFLAGS) -o $@ $(CMD_OBJ) $(LIB) $(PKG_LIBS)

$(B)/tests/unit/%: $(B)/tests/unit/%.o $(LIB)
	$(CC) $(SB_LDFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) -lcmocka

# The control socket's tests also link cmd/control.o (cmd/ is not in $(LIB)).
$(B)/tests/unit/t-control-%: $(B)/tests/unit/t-control-%.o $(B)/cmd/control.o $(LIB)
	$(CC) $(SB_LDFLAGS) $(LDFLAGS) -o $@ $< $(B)/cmd/control.o $(LIB) $(PKG_LIBS) -lcmocka

$(B)/tests/bench/%: $(B)/tests/bench/%.o $(LIB)
	$(CC) $(SB_LDFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

$(B)/tests/tools/%: $(B)/tests/tools/%.o $(LIB)
	$(CC) $(SB_LDFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

deps:
	@sh .ci/deps

build-tests: $(SEALBOX) $(UNIT_BIN) $(TOOL_BIN)

# Every test under one prove: cmocka binaries speak TAP, scripts are TAP.
export CMOCKA_MESSAGE_OUTPUT := TAP
TEST_ENV = SEALBOX="$(abspath $(SEALBOX))" SB_BUILD="$(abspath $(B))" \
	SB_SRC="$(CURDIR)" \
	LSAN_OPTIONS="suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0" \
	UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

check: deps
	$(MAKE) build-tests
	$(TEST_ENV) $(PROVE) $(PROVE_FLAGS) $(UNIT_BIN) tests/integration/t*.sh

unit: build-tests
	$(TEST_ENV) $(PROVE) $(PROVE_FLAGS) $(UNIT_BIN)

bench: $(SEALBOX) $(BENCH_BIN)
	$(TEST_ENV) sh tests/bench/run

# fsx with 1,000,000 operations on a mount (STRESS_OPS, STRESS_SEED).
stress: $(SEALBOX) $(TOOL_BIN)
	$(TEST_ENV) bash tests/stress.sh

.PHONY: stress

demo: deps
	$(MAKE) $(SEALBOX)
	$(TEST_ENV) sh tests/demo.sh

install: $(SEALBOX)
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(SEALBOX) $(DESTDIR)$(BINDIR)/sealbox

clean:
	rm -rf build build-san sealbox

.PHONY: all deps build-tests check unit bench demo install clean
.SECONDARY:

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(UNIT_BIN:=.d) $(BENCH_BIN:=.d) $(TOOL_BIN:=.d)
