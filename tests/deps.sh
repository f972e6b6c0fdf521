#!/bin/sh
# Check every build and test dependency of tokencache; on Debian, as root,
# install the missing ones with apt-get.  Otherwise print what to install and
# exit 1.  Quiet and fast when everything is present.
#
#   sh tests/deps.sh
#
# build: gcc make pkg-config libc6-dev libcurl4-openssl-dev libjson-c-dev
#        libsodium-dev libssl-dev (libcrypto: private_key_jwt)
#        libmicrohttpd-dev (the local token endpoint) check
# tests: nodejs + npm (kept as they are when node >= 18), procps, util-linux,
#        strace, gdb (gcore), clang (ThreadSanitizer, libFuzzer),
#        faketime (libfaketime: the wall-clock jump tests),
#        groff-base + man-db (tests/man.sh: the manual pages render cleanly),
#        libmonitoring-plugin-perl (tests/integration/check.sh parses
#        check's performance data with the Monitoring Plugins' parser),
#        tmux (tests/integration/watch.sh: watch in a real terminal),
#        mmdebstrap + systemd-container (the README on Debian 12 under
#        systemd: tests/integration/systemd.sh),
#        build-essential + dpkg-dev + debhelper + lintian (make deb and
#        tests/package.sh), rpm (rpmspec -P on packaging/rpm),
#        ca-certificates  (the npm packages of tests/oauth-server and
#        tests/clients are installed with npm ci by tests/npm-ci.sh),
#        promtool (tests/integration/metrics.sh: the metrics parsed by
#        Prometheus's own parser): from Debian's prometheus package,
#        downloaded with apt-get download and unpacked into
#        $PROMTOOL_DIR (/var/tmp/tokencache-promtool), never installed,
#        so that no Prometheus server is set up or started
# bench: gnuplot-nox (only for make bench, which sets DEPS_BENCH=1)
set -eu

NODE_MIN_MAJOR=18

have() { command -v "$1" >/dev/null 2>&1; }

deb_installed() {
	case $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) in
	*" ok installed") return 0 ;;
	*) return 1 ;;
	esac
}

# A library: pkg-config module $1, else (no pkg-config yet) Debian package $2.
lib_present() {
	if have pkg-config; then
		pkg-config --exists "$1" 2>/dev/null
	else
		deb_installed "$2"
	fi
}

node_major() {
	v=$(node --version 2>/dev/null) || v=
	v=${v#v}
	v=${v%%.*}
	case $v in '' | *[!0-9]*) echo 0 ;; *) echo "$v" ;; esac
}

collect() {
	missing=
	add() { missing="$missing $1"; }

	have gcc || add gcc
	have make || add make
	have pkg-config || add pkg-config
	deb_installed libc6-dev || add libc6-dev
	lib_present libcurl libcurl4-openssl-dev || add libcurl4-openssl-dev
	lib_present json-c libjson-c-dev || add libjson-c-dev
	lib_present libsodium libsodium-dev || add libsodium-dev
	lib_present libcrypto libssl-dev || add libssl-dev
	lib_present libmicrohttpd libmicrohttpd-dev || add libmicrohttpd-dev
	lib_present check check || add check

	if ! have node || [ "$(node_major)" -lt "$NODE_MIN_MAJOR" ]; then
		add nodejs
		add npm
	elif ! have npm; then
		add npm
	fi
	{ have ps && have pgrep && have pkill; } || add procps
	{ have setsid && have flock; } || add util-linux
	deb_installed ca-certificates || add ca-certificates
	have strace || add strace
	have gcore || add gdb
	deb_installed libfaketime || add faketime
	have clang || add clang
	# tests/man.sh: every manual page renders without warnings.
	have groff || add groff-base
	have man || add man-db
	# check's performance data, parsed as a monitoring system would.
	deb_installed libmonitoring-plugin-perl || add libmonitoring-plugin-perl
	# watch driven in a real terminal.
	have tmux || add tmux
	# The README test under systemd (tests/integration/systemd.sh).
	have mmdebstrap || add mmdebstrap
	have systemd-nspawn || add systemd-container
	# The Debian packages (make deb, tests/package.sh) and the RPM spec.
	deb_installed build-essential || add build-essential
	have dpkg-buildpackage || add dpkg-dev
	have dh || add debhelper
	have lintian || add lintian
	have rpmspec || add rpm
	# The sanitizer and libFuzzer runtimes are only recommended by clang.
	deb_installed libclang-rt-14-dev || add libclang-rt-14-dev
	# make bench draws its plot (DEPS_BENCH=1, set by the Makefile).
	[ "${DEPS_BENCH:-0}" = 1 ] && ! have gnuplot && add gnuplot-nox

	missing=${missing# }
}

# promtool alone, out of Debian's prometheus package: installing the
# package would set up and start a Prometheus server.
PROMTOOL_DIR=${PROMTOOL_DIR:-/var/tmp/tokencache-promtool}
have_promtool() {
	have promtool || [ -x "$PROMTOOL_DIR/root/usr/bin/promtool" ]
}
unpack_promtool() {
	have_promtool && return 0
	mkdir -p "$PROMTOOL_DIR"
	# _apt cannot write to a directory of root's: a warning, not an error.
	(cd "$PROMTOOL_DIR" && rm -f prometheus_*.deb &&
	    apt-get -q download prometheus 2>&1 | grep -v '^W: Download is performed unsandboxed' &&
	    dpkg-deb -x prometheus_*.deb root && rm -f prometheus_*.deb) ||
	    true
	have_promtool
}

collect
if ! have_promtool; then
	if [ "$(id -u)" -eq 0 ] && have apt-get; then
		echo "deps: unpacking promtool into $PROMTOOL_DIR"
		unpack_promtool || { apt-get -q update >/dev/null 2>&1; unpack_promtool; } ||
		    missing="$missing promtool"
	else
		missing="$missing promtool"
	fi
	missing=${missing# }
fi

if [ -z "$missing" ]; then
	echo "deps: all build and test dependencies present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! have apt-get; then
	echo "deps: missing packages: $missing" >&2
	echo "deps: install them with: apt-get install -y --no-install-recommends $missing" >&2
	exit 1
fi

echo "deps: installing: $missing"
export DEBIAN_FRONTEND=noninteractive
apt-get -q update || echo "deps: warning: apt-get update failed; trying the existing package lists" >&2
# $missing is a list of package names, split on purpose.
# shellcheck disable=SC2086
apt-get -q install -y --no-install-recommends $(echo " $missing " | sed 's/ promtool / /')
unpack_promtool || :

hash -r 2>/dev/null || :
wanted=$missing
collect
if [ -n "$missing" ]; then
	echo "deps: still missing after installing ($wanted): $missing" >&2
	if [ "$(node_major)" -gt 0 ] && [ "$(node_major)" -lt "$NODE_MIN_MAJOR" ]; then
		echo "deps: node $(node --version) is older than $NODE_MIN_MAJOR" >&2
	fi
	exit 1
fi
echo "deps: all build and test dependencies present"
