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
#   make deb             Debian packages (packaging/debian) into build/
#   make check-package   build, install, upgrade and purge them on Debian 12
#                        under systemd (tests/package.sh)
#
# CFLAGS, CPPFLAGS and LDFLAGS from the command line or the environment
# (dpkg-buildflags) come after the warning and hardening flags below, which
# they add to and never replace.

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
# Where bash-completion looks for tokencachectl's completion on first use.
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
MODULEDIR  ?= $(LIBDIR)/tokencache/modules
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

# The version has one source, tokencache.h (TC_VERSION_MAJOR, _MINOR,
# _PATCH); its TC_VERSION_STRING must say the same.  The soname's major
# number is the ABI's, not the release's.
tc_version = $(shell sed -n 's/^.define TC_VERSION_$(1)  *"*\([0-9.]*\)"*$$/\1/p' \
                 libclient/tokencache.h)
LIBVERSION  := $(call tc_version,MAJOR).$(call tc_version,MINOR).$(call tc_version,PATCH)
ifneq ($(call tc_version,STRING),$(LIBVERSION))
$(error libclient/tokencache.h: TC_VERSION_STRING "$(call tc_version,STRING)" is not TC_VERSION_MAJOR.MINOR.PATCH ($(LIBVERSION)))
endif
SONAME_MAJOR = 0
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
# _FORTIFY_SOURCE needs optimisation and fights the sanitizers.  Not
# twice: CPPFLAGS or CFLAGS from dpkg-buildflags may set their own level.
HARDEN_CFLAGS += $(if $(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),,-D_FORTIFY_SOURCE=2)
endif

# Every symbol of the library resolved at link time, except in clang's
# sanitizer builds, where the executable brings the sanitizer's runtime.
ZDEFS = $(if $(filter thread fuzzer,$(SANITIZE)),,-Wl,-z,defs)

PKGS_LIB    = libsodium
PKGS_DAEMON = libcurl json-c libsodium libcrypto libmicrohttpd

# Each object also writes the headers it included (-MMD) to its .d file,
# which make reads back below, so that a changed header rebuilds exactly
# what includes it; -MP keeps a removed header from breaking the build.
DEPFLAGS = -MMD -MP

pc_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pc_libs   = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

# The library sees its own headers alone: nothing of the daemon's.
# The warnings come after CFLAGS: dpkg-buildflags' -Wformat would
# otherwise turn -Wformat=2 back into -Wformat=1 (no -Wformat-nonliteral).
INCLUDES   = -Ilibclient -Iprovider
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(INCLUDES) \
             $(HARDEN_CFLAGS) $(SAN_FLAGS) \
             -DTC_SYSCONFDIR='"$(SYSCONFDIR)"' \
             -DTC_MODULE_DIR='"$(MODULEDIR)"' \
             -DTC_DAEMON_USER='"$(TOKENCACHE_USER)"' $(CPPFLAGS) $(CFLAGS) \
             $(WARN)
ALL_LDFLAGS = $(HARDEN_LDFLAGS) $(SAN_FLAGS) $(LDFLAGS)

# Objects depend on the flags and paths they were built with, so that
# `make install PREFIX=/usr` after a plain `make` rebuilds what changed.
BUILD_FLAGS = $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(PREFIX) $(LIBDIR) \
              $(MODULEDIR) \
              $(INCLUDEDIR) $(SYSCONFDIR)
FLAGS_FILE  = $(B)/.build-flags
ifneq ($(file <$(FLAGS_FILE)),$(BUILD_FLAGS))
$(shell mkdir -p $(B))
$(file >$(FLAGS_FILE),$(BUILD_FLAGS))
endif

LIB_SRCS    = libclient/seg.c libclient/proto.c libclient/proto_call.c \
              libclient/cell.c libclient/ptab.c libclient/segmap.c \
              libclient/entry.c libclient/view.c libclient/client.c
LIB_OBJS    = $(LIB_SRCS:%.c=$(B)/pic/%.o)
DAEMON_SRCS = $(filter-out provider/main.c,$(wildcard provider/*.c))
DAEMON_OBJS = $(DAEMON_SRCS:%.c=$(B)/%.o)
# The daemon again, with its test hooks (TOKENCACHE_TEST_CRASH, the
# allocator's wipe_malloc_fail_at): only the tests link these objects; the
# installed daemon is built from DAEMON_OBJS, which have none.
TEST_HOOKS  = -DTC_TEST_HOOKS
TEST_DAEMON_OBJS = $(DAEMON_SRCS:%.c=$(B)/tests/obj/%.o)
CTL_SRCS    = $(wildcard tools/*.c)
CTL_OBJS    = $(CTL_SRCS:%.c=$(B)/%.o)
UNIT_SRCS   = $(wildcard tests/unit/test_*.c)
UNIT_BINS   = $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
# The unit tests that drive the test hooks; the others link DAEMON_OBJS,
# the objects that are installed.
HOOK_UNIT_BINS = $(B)/tests/test_alloc $(B)/tests/test_log
BENCH_SRCS  = $(wildcard tests/bench/*.c)
FUZZ_NAMES  = token_parse config segment proto camunda_env exec_doc \
              discovery token_request peer verify jwt_claims
FUZZ_BINS   = $(FUZZ_NAMES:%=$(B)/fuzz/fuzz_%)
# Without libFuzzer, tests/fuzz/driver.c replays the corpus and a fixed
# set of mutations of it.
FUZZ_MAIN   = $(if $(filter fuzzer,$(SANITIZE)),-fsanitize=fuzzer,tests/fuzz/driver.c)
FUZZ        ?= token_parse
SECONDS     ?= 60

# The token source modules shipped (provider/modules/NAME.c, NAME.so):
# each built against <tokencache/module.h> alone, like a third party's.
MODULES     = exec
MODULE_SOS  = $(MODULES:%=$(B)/modules/%.so)
# The exec document's parser, also linked into its fuzz target and tests.
EXEC_DOC_OBJ = $(B)/provider/modules/exec_doc.o

SHLIB       = $(B)/$(LIBNAME).$(LIBVERSION)
STATICLIB   = $(B)/libtcclient.a
DAEMON      = $(B)/tokencached
CTL         = $(B)/tokencachectl
TEST_DAEMON = $(B)/tests/tokencached
BENCH       = $(B)/tc-bench

.PHONY: all deps check check-unit check-integration check-each check-systemd \
        check-package demo \
        bench install fuzz check-installed \
        uninstall clean distclean deb
.DELETE_ON_ERROR:

all: $(SHLIB) $(B)/$(LIBNAME) $(STATICLIB) $(DAEMON) $(CTL) \
     $(B)/tokencache.pc $(B)/tokencache-module.pc $(MODULE_SOS)

$(LIB_OBJS): INCLUDES = -Ilibclient
# The tool is a client: the library's headers, never the daemon's.
$(CTL_OBJS): INCLUDES = -Ilibclient
# ... but for import-camunda, which must read the console's credentials
# file and the main file exactly as the daemon will: it includes their
# readers' headers and links their two objects, which are pure C with no
# daemon state (camunda_env.c; config_ini.c, the INI reader).
CTL_DAEMON_OBJS = $(B)/provider/camunda_env.o $(B)/provider/config_ini.o
$(B)/tools/ctl_camunda.o: INCLUDES = -Ilibclient -Iprovider
$(B)/pic/%.o: %.c $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -fPIC -fvisibility=hidden \
	    -DTC_BUILDING_LIBRARY $(call pc_cflags,$(PKGS_LIB)) -c -o $@ $<

# A module sees the module ABI's header and its own directory, nothing
# else of the daemon's; libcurl's flags for <curl/curl.h>, which the
# header includes (a module need not link libcurl).  Only
# tokencache_module is exported (TC_MODULE_EXPORT).
$(B)/mod/%.o: INCLUDES = -Iprovider
$(B)/mod/%.o: %.c $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -fPIC -fvisibility=hidden \
	    $(call pc_cflags,libcurl) -c -o $@ $<

# The tc_mod_* functions stay undefined: the daemon that loads the module
# provides them, so no -z defs here.
$(B)/modules/%.so: $(B)/mod/provider/modules/%.o
	@mkdir -p $(@D)
	$(CC) -shared $(ALL_LDFLAGS) -o $@ $(filter %.o,$^)

$(B)/modules/exec.so: $(B)/mod/provider/modules/exec_doc.o
# Kept: make would remove an object that a pattern rule alone asks for.
.PRECIOUS: $(B)/mod/%.o

# Not `check`'s flags: without it installed, pkg-config would answer
# nothing at all, and `make` needs only the build dependencies.
$(B)/%.o: %.c $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(call pc_cflags,$(PKGS_DAEMON)) \
	    -c -o $@ $<

$(B)/tests/obj/%.o: %.c $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(TEST_HOOKS) \
	    $(call pc_cflags,$(PKGS_DAEMON)) -c -o $@ $<

# The programs built from one source in one step write theirs too
# (build/tests/test_seg.d); the fuzz targets and tc-bench, built from
# several sources at once, list their headers instead.
-include $(patsubst %.o,%.d,$(LIB_OBJS) $(B)/provider/main.o $(DAEMON_OBJS) \
    $(B)/tests/obj/provider/main.o $(TEST_DAEMON_OBJS) $(CTL_OBJS) \
    $(wildcard $(B)/mod/provider/modules/*.o) $(EXEC_DOC_OBJ)) \
    $(addsuffix .d,$(UNIT_BINS) $(B)/tests/tc-reader $(B)/tests/tc-resource \
    $(B)/tests/tc-sockfuzz $(B)/tests/tc-fakedaemon $(B)/tests/tc-notifyrecv)

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

# The daemon exports the host's side of the module ABI (tc_mod_*) to the
# modules it loads, and nothing else.
DYNLIST = provider/module.dynlist
$(DAEMON): $(B)/provider/main.o $(DAEMON_OBJS) $(STATICLIB) $(DYNLIST)
	$(CC) $(ALL_LDFLAGS) -Wl,--dynamic-list=$(DYNLIST) -o $@ \
	    $(filter %.o %.a,$^) $(call pc_libs,$(PKGS_DAEMON)) -pthread

# The daemon the integration tests run (tests/integration/lib.sh).
$(TEST_DAEMON): $(B)/tests/obj/provider/main.o $(TEST_DAEMON_OBJS) \
    $(STATICLIB) $(DYNLIST)
	$(CC) $(ALL_LDFLAGS) -Wl,--dynamic-list=$(DYNLIST) -o $@ \
	    $(filter %.o %.a,$^) $(call pc_libs,$(PKGS_DAEMON)) -pthread

# tokencachectl links the library statically: it reads the segment's
# metadata through the internal reader, which the shared object hides.
$(CTL): $(CTL_OBJS) $(CTL_DAEMON_OBJS) $(STATICLIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc_libs,$(PKGS_LIB) json-c) -pthread

$(B)/tokencache.pc: libclient/tokencache.pc.in Makefile $(FLAGS_FILE)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(LIBVERSION)|g' \
	    $< > $@

$(B)/tokencache-module.pc: provider/tokencache-module.pc.in Makefile \
    $(FLAGS_FILE)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	    -e 's|@MODULEDIR@|$(MODULEDIR)|g' -e 's|@VERSION@|$(LIBVERSION)|g' \
	    $< > $@

# What a module's author installs (header and pkg-config file), into a
# tree of its own: the test modules are built from it alone.
SDK = $(B)/sdk
$(SDK)/.stamp: provider/tokencache/module.h $(B)/tokencache-module.pc
	rm -rf $(SDK)
	install -d $(SDK)$(INCLUDEDIR)/tokencache $(SDK)$(LIBDIR)/pkgconfig
	install -m 0644 provider/tokencache/module.h $(SDK)$(INCLUDEDIR)/tokencache/
	install -m 0644 $(B)/tokencache-module.pc $(SDK)$(LIBDIR)/pkgconfig/
	touch $@

# The test modules (tests/modules/fixed.c): a good one under two names,
# and three the daemon must refuse.
SDK_CFLAGS = $(shell PKG_CONFIG_SYSROOT_DIR=$(abspath $(SDK)) \
    PKG_CONFIG_PATH=$(abspath $(SDK))$(LIBDIR)/pkgconfig \
    $(PKG_CONFIG) --cflags tokencache-module 2>/dev/null)
TEST_MODULES = $(addprefix $(B)/tests/modules/,fixed.so other.so \
    wrongabi.so noentry.so nostart.so)
$(B)/tests/modules/%.so: tests/modules/fixed.c $(SDK)/.stamp
	@mkdir -p $(@D)
	$(CC) -shared -fPIC -O2 $(SAN_FLAGS) $(SDK_CFLAGS) \
	    $(if $(SDK_CFLAGS),,$(error pkg-config found no tokencache-module in $(SDK))) \
	    -DFIXED_NAME='"$*"' $(MODULE_VARIANT_$*) -o $@ $<
MODULE_VARIANT_wrongabi = -DFIXED_WRONG_ABI
MODULE_VARIANT_noentry  = -DFIXED_NO_ENTRY -Wno-unused-function
MODULE_VARIANT_nostart  = -DFIXED_NO_START -Wno-unused-function

# The Check framework's flags (pkg-config check: -pthread, -lcheck_pic,
# -lsubunit ...) and -Itests/unit reach these programs alone, never an
# object that is installed: the daemon's objects are built by the rules
# above and only linked here.
UNIT_CFLAGS = -Itests/unit $(call pc_cflags,$(PKGS_DAEMON) check)
UNIT_LIBS   = $(call pc_libs,$(PKGS_DAEMON) check) -pthread

$(filter-out $(HOOK_UNIT_BINS),$(UNIT_BINS)): $(B)/tests/%: tests/unit/%.c \
    $(DAEMON_OBJS) $(STATICLIB) $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(UNIT_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
	    $(EXTRA_OBJS) $(DAEMON_OBJS) $(STATICLIB) $(UNIT_LIBS)

# verify's checks (tools/ctl_verify_seg.c: bytes in, findings out), in
# their unit tests and fuzz target.
VERIFY_OBJ = $(B)/tools/ctl_verify_seg.o
$(B)/tests/test_verify $(B)/fuzz/fuzz_verify: $(VERIFY_OBJ)
$(B)/tests/test_verify $(B)/fuzz/fuzz_verify: EXTRA_OBJS = $(VERIFY_OBJ)

# watch's terminal (tools/ctl_watch_tty.c), on a pseudo-terminal.
WATCH_TTY_OBJ = $(B)/tools/ctl_watch_tty.o
$(B)/tests/test_watch_tty: $(WATCH_TTY_OBJ)
$(B)/tests/test_watch_tty: EXTRA_OBJS = $(WATCH_TTY_OBJ)

# What list, watch and show print of a slot (tools/ctl_out.c).
CTL_OUT_OBJS = $(B)/tools/ctl_out.o $(B)/tools/ctl_cache.o
$(B)/tests/test_ctl_out: $(CTL_OUT_OBJS)
$(B)/tests/test_ctl_out: EXTRA_OBJS = $(CTL_OUT_OBJS)

# show's claim decoder (tools/ctl_jwt.c: bytes in, claims out).
JWT_CLAIMS_OBJ = $(B)/tools/ctl_jwt.o
$(B)/tests/test_ctl_jwt $(B)/fuzz/fuzz_jwt_claims: $(JWT_CLAIMS_OBJ)
$(B)/tests/test_ctl_jwt $(B)/fuzz/fuzz_jwt_claims: EXTRA_OBJS = $(JWT_CLAIMS_OBJ)

# Tests of a module's own code link its object (EXTRA_OBJS).
$(B)/tests/test_exec_doc $(B)/fuzz/fuzz_exec_doc: $(EXEC_DOC_OBJ)
$(B)/tests/test_exec_doc $(B)/fuzz/fuzz_exec_doc: EXTRA_OBJS = $(EXEC_DOC_OBJ)

$(HOOK_UNIT_BINS): $(B)/tests/%: tests/unit/%.c $(TEST_DAEMON_OBJS) \
    $(STATICLIB) $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(TEST_HOOKS) $(UNIT_CFLAGS) \
	    $(ALL_LDFLAGS) -o $@ $< $(TEST_DAEMON_OBJS) $(STATICLIB) $(UNIT_LIBS)

# A client that sees only the public header and the shared object.
$(B)/tests/tc-reader: tests/integration/reader.c tests/integration/outcome.h \
    $(B)/$(LIBNAME)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(ALL_LDFLAGS) -o $@ $< -L$(B) -ltokencache \
	    -Wl,-rpath,'$$ORIGIN/..'

# The resource and clock tests' helper (tests/integration/resources.sh):
# it also speaks the control protocol, so it links the static library.
$(B)/tests/tc-resource: tests/integration/resource.c \
    tests/integration/outcome.h $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(ALL_LDFLAGS) -o $@ $< $(STATICLIB) \
	    $(call pc_libs,$(PKGS_LIB)) -pthread

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/driver.c $(DAEMON_OBJS) \
    $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(call pc_cflags,$(PKGS_DAEMON)) $(ALL_LDFLAGS) \
	    -o $@ $< $(FUZZ_MAIN) $(EXTRA_OBJS) $(DAEMON_OBJS) $(STATICLIB) \
	    $(call pc_libs,$(PKGS_DAEMON)) -pthread

$(B)/tests/tc-sockfuzz: tests/integration/sockfuzz.c $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(ALL_LDFLAGS) -o $@ $< $(STATICLIB) \
	    $(call pc_libs,$(PKGS_LIB)) -pthread

# A service manager's notification socket (tests/integration/privsep.sh).
$(B)/tests/tc-notifyrecv: tests/integration/notifyrecv.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(ALL_LDFLAGS) -o $@ $<

# A poll(2) that fails, preloaded (tests/integration/watch.sh).
$(B)/tests/tc-pollfail.so: tests/integration/pollfail.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -shared $(ALL_LDFLAGS) -o $@ $< -ldl

# A daemon that is not tokencached (tests/integration/harden.sh): the
# daemon's segment writer behind a socket of its own.
$(B)/tests/tc-fakedaemon: tests/integration/fakedaemon.c $(DAEMON_OBJS) \
    $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(call pc_cflags,$(PKGS_DAEMON)) $(ALL_LDFLAGS) \
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

TEST_PROGS = $(UNIT_BINS) $(TEST_DAEMON) $(B)/tests/tc-reader $(B)/tests/tc-resource \
             $(B)/tests/tc-sockfuzz $(B)/tests/tc-fakedaemon \
             $(B)/tests/tc-notifyrecv $(B)/tests/tc-pollfail.so \
             $(FUZZ_BINS) $(TEST_MODULES)

# The builds for the tests go one job per CPU, unless make was given -j.
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
PAR = $(if $(findstring jobserver,$(MAKEFLAGS))$(filter -j%,$(MAKEFLAGS)),,-j$(JOBS))

check: deps
	$(MAKE) $(PAR) all $(TEST_PROGS)
	@TC_SHLIB=$(B)/$(LIBNAME).$(SONAME_MAJOR) sh tests/run-unit.sh $(UNIT_BINS)
	@sh tests/fuzz/run.sh $(B)/fuzz $(FUZZ_NAMES)
	@CTL=$(CTL) sh tests/man.sh
	@sh tests/rpmspec.sh
	@$(MAKE) --no-print-directory check-installed
	@B=$(abspath $(B)) bash tests/integration/run.sh
	$(if $(SANITIZE),,@bash tests/integration/systemd.sh)
	$(if $(SANITIZE),,@bash tests/package.sh)

# The README, followed as written on Debian 12 booted with systemd in a
# container (root; skipped with the reason elsewhere).
check-systemd:
	@bash tests/integration/systemd.sh

# The Debian packages built, lintian-clean, installed, upgraded, removed
# and purged on Debian 12 booted with systemd in a container (root;
# skipped with the reason elsewhere).
check-package:
	@bash tests/package.sh

check-unit:
	$(MAKE) $(PAR) all $(TEST_PROGS)
	@TC_SHLIB=$(B)/$(LIBNAME).$(SONAME_MAJOR) sh tests/run-unit.sh $(UNIT_BINS)
	@sh tests/fuzz/run.sh $(B)/fuzz $(FUZZ_NAMES)
	@$(MAKE) --no-print-directory check-installed

# Fuzz one target with libFuzzer for SECONDS (needs clang):
#   make fuzz FUZZ=token_parse SECONDS=600   (config, segment, proto,
#   camunda_env)
fuzz:
	$(MAKE) SANITIZE=fuzzer build-fuzzer/fuzz/fuzz_$(FUZZ)
	mkdir -p build-fuzzer/corpus/$(FUZZ)
	build-fuzzer/fuzz/fuzz_$(FUZZ) -max_total_time=$(SECONDS) \
	    build-fuzzer/corpus/$(FUZZ) tests/fuzz/corpus/$(FUZZ)

# What make install puts on a system: no test hook, one version
# (tests/installed.sh); the test daemon shows that the check sees hooks.
check-installed: all $(TEST_DAEMON)
	rm -rf $(B)/installed
	$(MAKE) -s --no-print-directory install DESTDIR=$(abspath $(B))/installed
	@sh tests/installed.sh $(B)/installed $(TEST_DAEMON) $(LIBVERSION)

check-integration:
	$(MAKE) $(PAR) all $(TEST_PROGS)
	@B=$(abspath $(B)) bash tests/integration/run.sh

# Every integration scenario alone, one after another (about 8 minutes):
# none may need another's state.  EACH=REGEX narrows it.
check-each:
	$(MAKE) $(PAR) all $(TEST_PROGS)
	@B=$(abspath $(B)) bash tests/integration/each.sh

# The demo and the benchmark run the daemon as installed, without test
# hooks (the tests run $(TEST_DAEMON)).
demo: deps
	$(MAKE) all
	@B=$(abspath $(B)) TC_DAEMON=$(abspath $(DAEMON)) \
	    bash tests/integration/demo.sh

bench:
	@DEPS_BENCH=1 sh tests/deps.sh
	$(MAKE) all $(BENCH)
	@B=$(abspath $(B)) TC_DAEMON=$(abspath $(DAEMON)) \
	    bash tests/bench/run.sh

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
	    $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/tokencache/credentials.d \
	    $(DESTDIR)$(INCLUDEDIR)/tokencache $(DESTDIR)$(MODULEDIR) \
	    $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(DAEMON) $(DESTDIR)$(SBINDIR)/tokencached
	install -m 0755 $(CTL) $(DESTDIR)$(BINDIR)/tokencachectl
	install -m 0755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	install -m 0644 $(MODULE_SOS) $(DESTDIR)$(MODULEDIR)/
	ln -sf $(LIBNAME).$(LIBVERSION) $(DESTDIR)$(LIBDIR)/$(LIBNAME).$(SONAME_MAJOR)
	ln -sf $(LIBNAME).$(SONAME_MAJOR) $(DESTDIR)$(LIBDIR)/$(LIBNAME)
	install -m 0644 libclient/tokencache.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 0644 $(B)/tokencache.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 0644 provider/tokencache/module.h $(DESTDIR)$(INCLUDEDIR)/tokencache/
	install -m 0644 $(B)/tokencache-module.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 0644 provider/tokencache-module.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 0644 tools/tokencachectl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 libclient/tokencache.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 0644 provider/tokencache.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 libclient/tokencache.7 $(DESTDIR)$(MANDIR)/man7/
	install -m 0644 provider/tokencached.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 tools/tokencachectl.bash $(DESTDIR)$(BASHCOMPDIR)/tokencachectl
	test -e $(DESTDIR)$(SYSCONFDIR)/tokencache/tokencache.conf || \
	    install -m 0644 packaging/tokencache.conf \
	    $(DESTDIR)$(SYSCONFDIR)/tokencache/tokencache.conf

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/tokencached $(DESTDIR)$(BINDIR)/tokencachectl \
	    $(DESTDIR)$(LIBDIR)/$(LIBNAME)* $(DESTDIR)$(INCLUDEDIR)/tokencache.h \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/tokencache.pc \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/tokencache-module.pc \
	    $(DESTDIR)$(INCLUDEDIR)/tokencache/module.h \
	    $(DESTDIR)$(MANDIR)/man3/tokencache-module.3 \
	    $(DESTDIR)$(MANDIR)/man1/tokencachectl.1 \
	    $(DESTDIR)$(MANDIR)/man3/tokencache.3 \
	    $(DESTDIR)$(MANDIR)/man5/tokencache.conf.5 \
	    $(DESTDIR)$(MANDIR)/man7/tokencache.7 \
	    $(DESTDIR)$(MANDIR)/man8/tokencached.8 \
	    $(DESTDIR)$(BASHCOMPDIR)/tokencachectl \
	    $(MODULES:%=$(DESTDIR)$(MODULEDIR)/%.so)
	rmdir $(DESTDIR)$(MODULEDIR) $(DESTDIR)$(LIBDIR)/tokencache \
	    $(DESTDIR)$(INCLUDEDIR)/tokencache 2>/dev/null || :

# The Debian packages (packaging/debian; README.source there): built by
# dpkg-buildpackage in a copy of the source under build/deb/, where it also
# leaves its .buildinfo and .changes; the .deb files are copied to build/.
# The changelog's version is tokencache.h's, or that with a +suffix.
DEB_TOP = build/deb
DEB_SRC = $(DEB_TOP)/tokencache-$(LIBVERSION)
deb:
	@v=$$(dpkg-parsechangelog -l packaging/debian/changelog -S Version) && \
	case $$v in $(LIBVERSION) | $(LIBVERSION)+*) ;; \
	*) echo "packaging/debian/changelog: version $$v is not tokencache.h's $(LIBVERSION)" >&2; \
	   exit 1 ;; esac
	rm -rf $(DEB_TOP) build/*.deb
	mkdir -p $(DEB_SRC)
	tar -C . --exclude=./.git --exclude='./build*' \
	    --exclude=./tests/oauth-server/node_modules \
	    --exclude=./tests/clients/node_modules -cf - . | tar -C $(DEB_SRC) -xf -
	cp -R packaging/debian $(DEB_SRC)/debian
	cd $(DEB_SRC) && dpkg-buildpackage -us -uc -b
	cp $$(ls $(DEB_TOP)/*.deb | grep -v -- -dbgsym_) build/

clean:
	rm -rf build build-address build-thread build-fuzzer

distclean: clean
	rm -rf tests/oauth-server/node_modules tests/clients/node_modules
