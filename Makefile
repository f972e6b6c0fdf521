# tokencache - host-level OAuth token broker.
#
#   make                 build everything
#   make check           install missing build dependencies, run every test
#   make check SANITIZE=address   (or =thread, or =1 for address) the same,
#                        built with sanitizers
#   make demo            build, start a local OAuth server and the daemon in a
#                        private runtime directory, show a live token
#   make bench           benchmark
#   make install         honours PREFIX (default /usr/local), DESTDIR

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
ifeq ($(PREFIX),/usr)
SYSCONFDIR ?= /etc
else
SYSCONFDIR ?= $(PREFIX)/etc
endif
DESTDIR    ?=
# The user tokencached drops to unless its configuration names another
# (`user`), and whom the library trusts to serve it (tokencache(3)).
TOKENCACHE_USER ?= tokencache

CC         ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS     ?= -O2 -g
SANITIZE   ?=

SONAME_MAJOR = 0
LIBVERSION   = 0.1.0
LIBNAME      = libtokencache.so

WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wformat=2 -Wpointer-arith -Wcast-align -Wwrite-strings -Wundef \
       -Wvla -Wnull-dereference
HARDEN_CFLAGS  = -fstack-protector-strong -fno-strict-aliasing
HARDEN_LDFLAGS = -Wl,-z,relro,-z,now -Wl,--as-needed

ifeq ($(SANITIZE),1)
override SANITIZE = address
endif
# Sanitizer builds live beside the normal one, not over it.
B = build$(if $(SANITIZE),-$(SANITIZE))
ifeq ($(SANITIZE),address)
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
else ifeq ($(SANITIZE),fuzzer)
# `make fuzz`: clang's libFuzzer, with ASan and UBSan.
CC        = clang
SAN_FLAGS = -fsanitize=address,undefined,fuzzer-no-link \
            -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(SANITIZE),thread)
# clang: gcc's ThreadSanitizer does not understand atomic fences, which the
# seqlock relies on.
CC        = clang
SAN_FLAGS = -fsanitize=thread -fno-omit-frame-pointer
else ifneq ($(SANITIZE),)
$(error SANITIZE must be address, thread, fuzzer or 1)
else
# _FORTIFY_SOURCE needs optimisation and fights the sanitizers.
HARDEN_CFLAGS += -D_FORTIFY_SOURCE=2
endif

# Every symbol of the library resolved at link time, except in clang's
# sanitizer builds, where the executable brings the sanitizer's runtime.
ZDEFS = $(if $(filter thread fuzzer,$(SANITIZE)),,-Wl,-z,defs)

PKGS_LIB    = libsodium
PKGS_DAEMON = libcurl json-c libsodium

pc_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pc_libs   = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -Ilibclient -Iprovider $(WARN) \
             $(HARDEN_CFLAGS) $(SAN_FLAGS) \
             -DTC_SYSCONFDIR='"$(SYSCONFDIR)"' \
             -DTC_DAEMON_USER='"$(TOKENCACHE_USER)"' $(CPPFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(HARDEN_LDFLAGS) $(SAN_FLAGS) $(LDFLAGS)

# Objects depend on the flags and paths they were built with, so that
# `make install PREFIX=/usr` after a plain `make` rebuilds what changed.
BUILD_FLAGS = $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(PREFIX) $(LIBDIR) \
              $(INCLUDEDIR) $(SYSCONFDIR)
FLAGS_FILE  = $(B)/.build-flags
ifneq ($(file <$(FLAGS_FILE)),$(BUILD_FLAGS))
$(shell mkdir -p $(B))
$(file >$(FLAGS_FILE),$(BUILD_FLAGS))
endif

LIB_SRCS    = libclient/seg.c libclient/client.c libclient/proto.c
LIB_OBJS    = $(LIB_SRCS:%.c=$(B)/pic/%.o)
DAEMON_SRCS = $(filter-out provider/main.c,$(wildcard provider/*.c))
DAEMON_OBJS = $(DAEMON_SRCS:%.c=$(B)/%.o)
CTL_SRCS    = $(wildcard tools/*.c)
CTL_OBJS    = $(CTL_SRCS:%.c=$(B)/%.o)
UNIT_SRCS   = $(wildcard tests/unit/test_*.c)
UNIT_BINS   = $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
BENCH_SRCS  = $(wildcard tests/bench/*.c)
FUZZ_NAMES  = token_parse config segment proto
FUZZ_BINS   = $(FUZZ_NAMES:%=$(B)/fuzz/fuzz_%)
# Without libFuzzer, tests/fuzz/driver.c replays the corpus and a fixed
# set of mutations of it.
FUZZ_MAIN   = $(if $(filter fuzzer,$(SANITIZE)),-fsanitize=fuzzer,tests/fuzz/driver.c)
FUZZ        ?= token_parse
SECONDS     ?= 60

SHLIB       = $(B)/$(LIBNAME).$(LIBVERSION)
STATICLIB   = $(B)/libtcclient.a
DAEMON      = $(B)/tokencached
CTL         = $(B)/tokencachectl
BENCH       = $(B)/tc-bench

.PHONY: all deps check check-unit check-integration check-systemd demo \
        bench install fuzz \
        uninstall clean distclean deb
.DELETE_ON_ERROR:

all: $(SHLIB) $(B)/$(LIBNAME) $(STATICLIB) $(DAEMON) $(CTL) \
     $(B)/tokencache.pc

$(B)/pic/%.o: %.c libclient/*.h $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -DTC_BUILDING_LIBRARY \
	    $(call pc_cflags,$(PKGS_LIB)) -c -o $@ $<

# Not `check`'s flags: without it installed, pkg-config would answer
# nothing at all, and `make` needs only the build dependencies.
$(B)/%.o: %.c libclient/*.h provider/*.h $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(call pc_cflags,$(PKGS_DAEMON)) -c -o $@ $<

$(SHLIB): $(LIB_OBJS) libclient/libtokencache.sym
	$(CC) -shared -Wl,-soname,$(LIBNAME).$(SONAME_MAJOR) \
	    -Wl,--version-script=libclient/libtokencache.sym $(ZDEFS) \
	    $(ALL_LDFLAGS) -o $@ $(LIB_OBJS) $(call pc_libs,$(PKGS_LIB)) -pthread

$(B)/$(LIBNAME): $(SHLIB)
	ln -sf $(LIBNAME).$(LIBVERSION) $(B)/$(LIBNAME).$(SONAME_MAJOR)
	ln -sf $(LIBNAME).$(LIBVERSION) $@

$(STATICLIB): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(DAEMON): $(B)/provider/main.o $(DAEMON_OBJS) $(STATICLIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc_libs,$(PKGS_DAEMON)) -pthread

# tokencachectl links the library statically: it reads the segment's
# metadata through the internal reader, which the shared object hides.
$(CTL): $(CTL_OBJS) $(STATICLIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc_libs,$(PKGS_LIB) json-c) -pthread

$(B)/tokencache.pc: libclient/tokencache.pc.in Makefile $(FLAGS_FILE)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(LIBVERSION)|g' \
	    $< > $@

$(B)/tests/%: tests/unit/%.c $(DAEMON_OBJS) $(STATICLIB) $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(call pc_cflags,$(PKGS_DAEMON) check) \
	    $(ALL_LDFLAGS) -o $@ $< $(DAEMON_OBJS) $(STATICLIB) \
	    $(call pc_libs,$(PKGS_DAEMON) check) -pthread

# A client that sees only the public header and the shared object.
$(B)/tests/tc-reader: tests/integration/reader.c tests/integration/outcome.h \
    $(B)/$(LIBNAME)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< -L$(B) -ltokencache \
	    -Wl,-rpath,'$$ORIGIN/..'

# The resource and clock tests' helper (tests/integration/resources.sh):
# it also speaks the control protocol, so it links the static library.
$(B)/tests/tc-resource: tests/integration/resource.c \
    tests/integration/outcome.h $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(STATICLIB) \
	    $(call pc_libs,$(PKGS_LIB)) -pthread

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/driver.c $(DAEMON_OBJS) \
    $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(call pc_cflags,$(PKGS_DAEMON)) $(ALL_LDFLAGS) \
	    -o $@ $< $(FUZZ_MAIN) $(DAEMON_OBJS) $(STATICLIB) \
	    $(call pc_libs,$(PKGS_DAEMON)) -pthread

$(B)/tests/tc-sockfuzz: tests/integration/sockfuzz.c $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(STATICLIB) \
	    $(call pc_libs,$(PKGS_LIB)) -pthread

# A daemon that is not tokencached (tests/integration/harden.sh): the
# daemon's segment writer behind a socket of its own.
$(B)/tests/tc-fakedaemon: tests/integration/fakedaemon.c $(DAEMON_OBJS) \
    $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(call pc_cflags,$(PKGS_DAEMON)) $(ALL_LDFLAGS) \
	    -o $@ $< $(DAEMON_OBJS) $(STATICLIB) \
	    $(call pc_libs,$(PKGS_DAEMON)) -pthread

# tc-bench links the daemon's segment writer, but not its allocator: that
# wipes every block freed, which would slow the alternatives it measures.
$(BENCH): $(BENCH_SRCS) $(wildcard tests/bench/*.h) $(STATICLIB) \
    $(filter-out %/wipe_malloc.o,$(DAEMON_OBJS))
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/bench $(call pc_cflags,$(PKGS_DAEMON)) \
	    $(ALL_LDFLAGS) -o $@ $(BENCH_SRCS) \
	    $(filter-out %/wipe_malloc.o,$(DAEMON_OBJS)) $(STATICLIB) \
	    $(call pc_libs,$(PKGS_DAEMON)) -pthread

deps:
	@sh tests/deps.sh

TEST_PROGS = $(UNIT_BINS) $(B)/tests/tc-reader $(B)/tests/tc-resource \
             $(B)/tests/tc-sockfuzz $(B)/tests/tc-fakedaemon \
             $(FUZZ_BINS)

# The builds for the tests go one job per CPU, unless make was given -j.
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
PAR = $(if $(findstring jobserver,$(MAKEFLAGS))$(filter -j%,$(MAKEFLAGS)),,-j$(JOBS))

check: deps
	$(MAKE) $(PAR) all $(TEST_PROGS)
	@TC_SHLIB=$(B)/$(LIBNAME).$(SONAME_MAJOR) sh tests/run-unit.sh $(UNIT_BINS)
	@sh tests/fuzz/run.sh $(B)/fuzz $(FUZZ_NAMES)
	@B=$(abspath $(B)) bash tests/integration/run.sh
	$(if $(SANITIZE),,@bash tests/integration/systemd.sh)

# The README, followed as written on Debian 12 booted with systemd in a
# container (root; skipped with the reason elsewhere).
check-systemd:
	@bash tests/integration/systemd.sh

check-unit:
	$(MAKE) $(PAR) all $(TEST_PROGS)
	@TC_SHLIB=$(B)/$(LIBNAME).$(SONAME_MAJOR) sh tests/run-unit.sh $(UNIT_BINS)
	@sh tests/fuzz/run.sh $(B)/fuzz $(FUZZ_NAMES)

# Fuzz one target with libFuzzer for SECONDS (needs clang):
#   make fuzz FUZZ=token_parse SECONDS=600   (config, segment, proto)
fuzz:
	$(MAKE) SANITIZE=fuzzer build-fuzzer/fuzz/fuzz_$(FUZZ)
	mkdir -p build-fuzzer/corpus/$(FUZZ)
	build-fuzzer/fuzz/fuzz_$(FUZZ) -max_total_time=$(SECONDS) \
	    build-fuzzer/corpus/$(FUZZ) tests/fuzz/corpus/$(FUZZ)

check-integration:
	$(MAKE) $(PAR) all $(TEST_PROGS)
	@B=$(abspath $(B)) bash tests/integration/run.sh

demo: deps
	$(MAKE) all
	@B=$(abspath $(B)) bash tests/integration/demo.sh

bench:
	@DEPS_BENCH=1 sh tests/deps.sh
	$(MAKE) all $(BENCH)
	@B=$(abspath $(B)) bash tests/bench/run.sh

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
	    $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/tokencache/credentials.d
	install -m 0755 $(DAEMON) $(DESTDIR)$(SBINDIR)/tokencached
	install -m 0755 $(CTL) $(DESTDIR)$(BINDIR)/tokencachectl
	install -m 0755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(LIBNAME).$(LIBVERSION) $(DESTDIR)$(LIBDIR)/$(LIBNAME).$(SONAME_MAJOR)
	ln -sf $(LIBNAME).$(SONAME_MAJOR) $(DESTDIR)$(LIBDIR)/$(LIBNAME)
	install -m 0644 libclient/tokencache.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 0644 $(B)/tokencache.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 0644 tools/tokencachectl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 libclient/tokencache.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 0644 provider/tokencached.8 $(DESTDIR)$(MANDIR)/man8/
	test -e $(DESTDIR)$(SYSCONFDIR)/tokencache/tokencache.conf || \
	    install -m 0644 packaging/tokencache.conf \
	    $(DESTDIR)$(SYSCONFDIR)/tokencache/tokencache.conf

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/tokencached $(DESTDIR)$(BINDIR)/tokencachectl \
	    $(DESTDIR)$(LIBDIR)/$(LIBNAME)* $(DESTDIR)$(INCLUDEDIR)/tokencache.h \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/tokencache.pc \
	    $(DESTDIR)$(MANDIR)/man1/tokencachectl.1 \
	    $(DESTDIR)$(MANDIR)/man3/tokencache.3 \
	    $(DESTDIR)$(MANDIR)/man8/tokencached.8

clean:
	rm -rf build build-address build-thread build-fuzzer

distclean: clean
	rm -rf tests/oauth-server/node_modules
