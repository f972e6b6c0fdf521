#!/usr/bin/env bash
# The Debian packages (packaging/debian, make deb) on a clean Debian 12
# booted with systemd (issue 13): built, checked by lintian (no error, no
# warning), installed with apt-get install ./*.deb, then under the real
# systemd: the user, the secrets directory, the service enabled and
# running with no credential, systemd-analyze verify on the installed
# unit; a credential against the test OAuth server on this machine's
# loopback; a program built in the container with
# `pkg-config --cflags --libs tokencache` reads the token as an allowed
# user and is refused as another; `systemctl restart` keeps a running
# reader's token and sends no token request; an upgrade to a rebuilt
# package of a higher version restarts the daemon the same way and keeps
# a changed conffile, the credential and the secret; remove keeps the
# configuration; purge leaves nothing of the package but the system user
# (Debian keeps those: packaging/debian/README.source).
#
#   bash tests/package.sh          (make check; make check-package)
#   KEEP=1 ...     keep the container's root and the logs
#
# Skipped, with the reason, where no container can boot: not root, no
# mmdebstrap or systemd-nspawn, no Debian mirror to build the root from.
# The root (systemd and the packages' dependencies, plus a compiler and
# pkg-config, so that apt-get install ./*.deb needs no mirror) is cached
# in /var/tmp/tc-package-bookworm (TC_PACKAGE_CACHE) and rebuilt when the
# packages' dependencies change; each run boots a fresh copy of it.  The
# container's boot, lifecycle and clean-up follow tests/integration/
# systemd.sh.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/tests/integration/lib.sh"
cd "$TOP"

CT_SUITE=package
CT_WHAT="the Debian packages on Debian 12 under systemd"
CT_ENV=DEBIAN_FRONTEND=noninteractive
. "$TOP/tests/container.sh"
ct_require dpkg-buildpackage dh lintian mmdebstrap systemd-nspawn nsenter node

CACHE=${TC_PACKAGE_CACHE:-/var/tmp/tc-package-bookworm}
READER=
tc_workdir

finish() {
	trap '' INT TERM
	ct_running && in_ct journalctl -q --no-pager -b >"$WORK/journal.log" 2>&1
	ct_teardown
	# A reader still waiting for its go file (a check failed before it
	# was let go), or one the container's end left stopped.
	if [ -n "$READER" ]; then
		kill -KILL "$READER" 2>/dev/null
		wait "$READER" 2>/dev/null
	fi
}
trap finish EXIT
trap 'exit 130' INT TERM

journal() { in_ct journalctl -q --no-pager -u tokencached | tail -n "${1:-15}"; }

# ---------------------------------------------------------------- build

if make --no-print-directory deb >"$WORK/deb.log" 2>&1; then
	ok "make deb: $(cd build && echo *.deb)"
else
	not_ok "make deb" "$(tail -n 20 "$WORK/deb.log")"
	exit 1
fi
# The build's own warnings (the compiler's, dpkg-gensymbols', debhelper's).
if grep -i -E 'warning' "$WORK/deb.log" >"$WORK/deb-warnings.log"; then
	not_ok "make deb without warnings" "$(head -n 10 "$WORK/deb-warnings.log")"
else
	ok "make deb: no warning from the compiler, dpkg-gensymbols or debhelper"
fi
V1=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)

# An upgrade: the same tree with a higher version, built the same way
# (dpkg-buildpackage cleans the copy first).
UPV=$V1+upgradetest1
UPTOP=$TOP/build/deb-upgrade
rm -rf "$UPTOP"
mkdir -p "$UPTOP"
upsrc=$UPTOP/tokencache-$(sed -n 's/^.define TC_VERSION_STRING "\(.*\)"$/\1/p' libclient/tokencache.h)
cp -a "$TOP/build/deb/${upsrc##*/}" "$UPTOP/"
{
	printf 'tokencache (%s) unstable; urgency=medium\n\n' "$UPV"
	printf '  * Rebuilt by tests/package.sh to test an upgrade.\n\n'
	printf ' -- %s  %s\n\n' "$(sed -n 's/^Maintainer: //p' "$upsrc/debian/control")" \
	    "$(date -R)"
	cat "$upsrc/debian/changelog"
} >"$WORK/changelog" && cp "$WORK/changelog" "$upsrc/debian/changelog"
if (cd "$upsrc" && dpkg-buildpackage -us -uc -b) >"$WORK/deb-upgrade.log" 2>&1; then
	ok "rebuilt as $UPV for the upgrade"
else
	not_ok "the rebuild as $UPV" "$(tail -n 20 "$WORK/deb-upgrade.log")"
	exit 1
fi

# ---------------------------------------------------------------- lintian

lintian -I -E --pedantic --fail-on error,warning "$TOP"/build/deb/*.changes \
    >"$WORK/lintian.log" 2>&1
st=$?
tags=$(grep -E '^[EWIPX]: ' "$WORK/lintian.log")
if [ $st -eq 0 ] && ! grep -q -E '^[EW]: ' "$WORK/lintian.log"; then
	ok "lintian: no error, no warning ($(echo "$tags" | grep -c -E '^[IPX]: ') info or pedantic tags, each explained in packaging/debian/README.source)"
	# An explained tag names itself in README.source.
	for t in $(echo "$tags" | awk '{ print $3 }' | sort -u); do
		grep -q -F -- "$t" packaging/debian/README.source ||
		    not_ok "lintian tag $t explained in packaging/debian/README.source"
	done
else
	not_ok "lintian: no error, no warning (exit $st)" "$(cat "$WORK/lintian.log")"
fi

# ---------------------------------------------------------------- the root

# The packages' dependencies (the first of each alternative), so that the
# local packages install without a mirror; a compiler and pkg-config for
# the program built against libtokencache-dev.
deps=$(for d in "$TOP"/build/*.deb; do dpkg-deb -f "$d" Depends; done |
    tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/[[:space:]]//g' |
    grep -v -E '^$|^libtokencache' | sort -u | tr '\n' ',')
pkgs="systemd,systemd-sysv,dbus,gcc,libc6-dev,pkg-config,${deps%,}"
ct_root "$CACHE" "$pkgs" var/lib/tc-package-packages
mkdir -p "$ROOT/var/tmp/debs" "$ROOT/var/tmp/debs-upgrade" "$ROOT/var/tmp/app"
cp "$TOP"/build/*.deb "$ROOT/var/tmp/debs/"
cp $(ls "$UPTOP"/*.deb | grep -v -- -dbgsym_) "$ROOT/var/tmp/debs-upgrade/"

# reader NAME [GOFILE]: NAME's token on a line; with GOFILE, once more,
# through the same handle, after GOFILE appears (a reader that runs
# across a restart or an upgrade).
cat >"$ROOT/var/tmp/app/reader.c" <<'EOF'
#include <err.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <tokencache.h>

static void
print_token(tc_client *tc, const char *name)
{
	char token[16384];
	tc_token_info info = TC_TOKEN_INFO_INIT;
	int r;

	r = tc_get(tc, name, token, sizeof(token), &info);
	if (r == TC_ENOTOKEN || r == TC_EEXPIRED)
		r = tc_get_wait(tc, name, token, sizeof(token), &info, 10000);
	if (r != 0)
		errx(1, "%s: %s%s%s", name, tc_strerror(r),
		    info.error[0] ? ": " : "", info.error);
	printf("%s\n", token);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	tc_client *tc;
	int r;

	if (argc < 2)
		errx(2, "usage: reader NAME [GOFILE]");
	if ((r = tc_open(&tc, NULL)) != 0)
		errx(1, "tc_open: %s", tc_strerror(r));
	print_token(tc, argv[1]);
	if (argc > 2) {
		while (access(argv[2], F_OK) != 0)
			nanosleep(&pause, NULL);
		print_token(tc, argv[1]);
	}
	tc_close(tc);
	return 0;
}
EOF

# ---------------------------------------------------------------- the OAuth server

SECRET='package-secret-0123456789'
cat >"$WORK/clients.json" <<EOF
[
 {"client_id": "pkg-client", "client_secret": "$SECRET",
  "token_endpoint_auth_method": "client_secret_post",
  "grant_types": ["client_credentials"], "redirect_uris": [], "response_types": []}
]
EOF
tc_server pkg "$WORK/clients.json" 3600 || { echo "Bail out: no OAuth server"; exit 1; }
P=$PORT_pkg

# ---------------------------------------------------------------- boot

ct_boot

# What is on the system before: purge must bring it back to this.
snapshot() {
	in_ct find /etc /lib /usr /var /run /opt /srv -xdev \
	    \( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache \
	    -o -path /var/log -o -path /var/tmp -o -path /run/systemd \
	    -o -path /run/user -o -path /run/log -o -path /run/dbus \
	    -o -path /var/lib/systemd/catalog -o -path /var/lib/systemd/timers \
	    -o -path /var/lib/systemd/random-seed -o -path /run/mount \
	    -o -path /etc/ld.so.cache \) -prune -o -print | sort
}
snapshot >"$WORK/before.list"
in_ct getent passwd tokencache >/dev/null &&
    not_ok "the clean root has no user tokencache"

# ---------------------------------------------------------------- install

if in_ct sh -c 'cd /var/tmp/debs && apt-get install -y -q ./*.deb' >"$WORK/install.log" 2>&1; then
	ok "apt-get install ./*.deb ($(cd "$ROOT/var/tmp/debs" && echo *.deb)) with no mirror"
else
	not_ok "apt-get install ./*.deb" "$(tail -n 20 "$WORK/install.log")"
	exit 1
fi
if grep -i -E 'warning|error' "$WORK/install.log" | grep -v -E '^(Get|Selecting|Preparing|Unpacking|Setting up)' \
    >"$WORK/install-warnings.log"; then
	not_ok "the install prints no warning or error" "$(cat "$WORK/install-warnings.log")"
else
	ok "the install prints no warning or error"
fi
pw=$(in_ct getent passwd tokencache)
case $pw in
tokencache:*:/nonexistent:/usr/sbin/nologin)
	ok "the system user from sysusers: $pw" ;;
*)
	not_ok "the system user tokencache" "getent: '$pw'" ;;
esac
sec=$(in_ct stat -c '%a %U %G' /etc/tokencache/secrets 2>&1)
if [ "$sec" = "700 root root" ]; then
	ok "/etc/tokencache/secrets from tmpfiles: 0700 root root"
else
	not_ok "/etc/tokencache/secrets" "$sec"
fi
# Enabled and started on a fresh install, with no credential: it runs
# and serves nothing.
if [ "$(in_ct systemctl is-enabled tokencached)" = enabled ] &&
    ct_wait 15 systemctl is-active tokencached &&
    ct_wait 15 tokencachectl list; then
	ok "fresh install: tokencached enabled and running with no credential"
else
	not_ok "fresh install: tokencached enabled and running" \
	    "$(in_ct systemctl status --no-pager tokencached 2>&1 | head -n 10)" "$(journal)"
fi
# --man=no: the minimal root has no man(1); the pages are checked below.
if in_ct systemd-analyze verify --man=no /lib/systemd/system/tokencached.service >"$WORK/verify.log" 2>&1 &&
    [ ! -s "$WORK/verify.log" ]; then
	ok "systemd-analyze verify on the installed unit: nothing to say"
else
	not_ok "systemd-analyze verify on the installed unit" "$(cat "$WORK/verify.log")"
fi
if in_ct sh -c 'man -w tokencached tokencachectl tokencache.conf 7 tokencache 3 tokencache tokencache-module' \
    >/dev/null 2>&1 || in_ct sh -c 'for p in man8/tokencached.8 man1/tokencachectl.1 man5/tokencache.conf.5 man7/tokencache.7 man3/tokencache.3 man3/tokencache-module.3; do test -f /usr/share/man/$p.gz; done'; then
	ok "the manual pages are installed"
else
	not_ok "the manual pages are installed"
fi

# ---------------------------------------------------------------- a credential

in_ct useradd --system --no-create-home --shell /bin/sh reader
in_ct useradd --system --no-create-home --shell /bin/sh other
cat >"$ROOT/etc/tokencache/credentials.d/pkg-client.conf" <<EOF
[credential]
provider = oauth2
token_url = http://127.0.0.1:$P/token
client_id = pkg-client
client_secret_file = /etc/tokencache/secrets/pkg-client
allow_users = reader
EOF
in_ct sh -c "umask 077; printf %s '$SECRET' >/etc/tokencache/secrets/pkg-client"
if in_ct systemctl reload tokencached >"$WORK/reload.log" 2>&1 &&
    ct_wait 15 tokencachectl token pkg-client --wait 1; then
	ok "a credential against the OAuth server on the host's loopback: systemctl reload, a token"
else
	not_ok "a credential and systemctl reload" "$(cat "$WORK/reload.log")" "$(journal)"
	exit 1
fi

# ---------------------------------------------------------------- a program

if in_ct sh -ec 'cd /var/tmp/app && cc -Wall -Wextra -Werror -o reader reader.c $(pkg-config --cflags --libs tokencache)' \
    >"$WORK/cc.log" 2>&1; then
	ok "a program built with \$(pkg-config --cflags --libs tokencache) against libtokencache-dev"
else
	not_ok "building the program in the container" "$(cat "$WORK/cc.log")"
	exit 1
fi
in_ct tokencachectl token pkg-client >"$WORK/token" 2>&1
if in_ct runuser -u reader -- /var/tmp/app/reader pkg-client >"$WORK/reader.out" 2>&1 &&
    cmp -s "$WORK/reader.out" "$WORK/token" &&
    tc_verify "$P" pkg-client "$SECRET" "$WORK/token" >/dev/null 2>&1; then
	ok "as reader (allow_users): the token, which the server accepts"
else
	not_ok "the program as reader" "$(cat "$WORK/reader.out")"
fi
if in_ct runuser -u other -- /var/tmp/app/reader pkg-client >"$WORK/other.out" 2>&1; then
	not_ok "the program as other" "got a token"
elif grep -q "permission denied" "$WORK/other.out"; then
	ok "as other: refused ($(cat "$WORK/other.out"))"
else
	not_ok "the program as other" "$(cat "$WORK/other.out")"
fi

# ---------------------------------------------------------------- a consuming service

# A group for the credential (a sysusers line) in its allow_groups, joined
# by a service with SupplementaryGroups= (the README's example unit): the
# service runs as a DynamicUser that no allow_users names, so the group
# alone admits it; the same service without the group is refused.
mkdir -p "$ROOT/etc/sysusers.d"
printf 'g tokencache-pkg -\n' >"$ROOT/etc/sysusers.d/tokencache-pkg.conf"
printf 'allow_groups = tokencache-pkg\n' >>"$ROOT/etc/tokencache/credentials.d/pkg-client.conf"
# DynamicUser= implies PrivateTmp=: the program from a path it can see.
in_ct install -m 0755 /var/tmp/app/reader /usr/local/bin/tc-pkg-reader
if in_ct systemd-sysusers >"$WORK/sysusers.log" 2>&1 &&
    in_ct getent group tokencache-pkg >>"$WORK/sysusers.log" 2>&1 &&
    in_ct systemctl reload tokencached >>"$WORK/sysusers.log" 2>&1; then
	consumer() {
		in_ct systemd-run --quiet --wait --pipe -p DynamicUser=yes \
		    -p Wants=tokencached.service -p After=tokencached.service "$@" \
		    /usr/local/bin/tc-pkg-reader pkg-client
	}
	if consumer -p SupplementaryGroups=tokencache-pkg >"$WORK/consumer.out" 2>&1 &&
	    cmp -s "$WORK/consumer.out" "$WORK/token"; then
		ok "a service with SupplementaryGroups=tokencache-pkg (allow_groups) gets the token"
	else
		not_ok "a service with SupplementaryGroups=" "$(cat "$WORK/consumer.out")" "$(journal 5)"
	fi
	if consumer >"$WORK/consumer-no.out" 2>&1; then
		not_ok "the same service without the group" "got a token"
	elif grep -q "permission denied" "$WORK/consumer-no.out"; then
		ok "the same service without the group: refused"
	else
		not_ok "the same service without the group" "$(cat "$WORK/consumer-no.out")"
	fi
else
	not_ok "a group for the credential (systemd-sysusers, reload)" "$(cat "$WORK/sysusers.log")"
fi

# ---------------------------------------------------------------- restart

# reader_start: a reader holding its handle until /var/tmp/go-N appears.
GO=0
reader_start() {
	GO=$((GO + 1))
	rm -f "$ROOT/var/tmp/go-$GO"
	in_ct runuser -u reader -- /var/tmp/app/reader pkg-client "/var/tmp/go-$GO" \
	    >"$WORK/held-$GO.out" 2>&1 &
	READER=$!
	wait_for 10 test -s "$WORK/held-$GO.out"
}
# reader_finish: let it read again; both its lines the token of before.
reader_finish() {
	touch "$ROOT/var/tmp/go-$GO"
	wait "$READER"
	local st=$?
	READER=
	[ $st -eq 0 ] && [ "$(sort -u "$WORK/held-$GO.out")" = "$(cat "$WORK/token")" ]
}
# restarted_keeping WHAT PID_BEFORE REQUESTS_BEFORE: a new daemon, serving
# the token of before, which the held reader read again; no request.
restarted_keeping() {
	local what=$1 pid0=$2 req0=$3 pid held=0
	pid=$(in_ct systemctl show -P MainPID tokencached)
	ct_wait 10 tokencachectl token pkg-client
	reader_finish || held=1
	if [ $held -eq 0 ] && [ "$pid" != "$pid0" ] && [ "$pid" != 0 ] &&
	    [ "$(in_ct tokencachectl token pkg-client)" = "$(cat "$WORK/token")" ] &&
	    [ "$(tc_stats "$P")" = "$req0" ] &&
	    in_ct test -f /run/tokencache/cache; then
		ok "$what: a new daemon ($pid0 -> $pid) adopted the cache; a running reader kept its token; no token request ($req0 before and after)"
	else
		not_ok "$what keeps the tokens" "pid $pid0 -> $pid, requests $req0 -> $(tc_stats "$P")" \
		    "the held reader: $(cat "$WORK/held-$GO.out")" "$(journal)"
		# What follows compares with the token of now.
		in_ct tokencachectl token pkg-client >"$WORK/token" 2>&1
	fi
}

reader_start
pid0=$(in_ct systemctl show -P MainPID tokencached)
req0=$(tc_stats "$P")
in_ct systemctl restart tokencached
restarted_keeping "systemctl restart" "$pid0" "$req0"

# ---------------------------------------------------------------- upgrade

echo '# changed by the administrator' >>"$ROOT/etc/tokencache/tokencache.conf"
cp "$ROOT/etc/tokencache/tokencache.conf" "$WORK/conf.before"
reader_start
pid0=$(in_ct systemctl show -P MainPID tokencached)
req0=$(tc_stats "$P")
if in_ct sh -c 'cd /var/tmp/debs-upgrade && apt-get install -y -q ./*.deb' >"$WORK/upgrade.log" 2>&1 &&
    [ "$(in_ct dpkg-query -W -f '${Version}' tokencache)" = "$UPV" ]; then
	ok "apt-get install ./*.deb: upgraded from $V1 to $UPV"
else
	not_ok "the upgrade to $UPV" "$(tail -n 20 "$WORK/upgrade.log")"
fi
restarted_keeping "the upgrade" "$pid0" "$req0"
if cmp -s "$WORK/conf.before" "$ROOT/etc/tokencache/tokencache.conf" &&
    [ -f "$ROOT/etc/tokencache/credentials.d/pkg-client.conf" ] &&
    [ -f "$ROOT/etc/tokencache/secrets/pkg-client" ] &&
    [ -z "$(in_ct find /etc/tokencache -name '*.dpkg-*')" ]; then
	ok "the upgrade kept the changed conffile, the credential and the secret"
else
	not_ok "the upgrade keeps the configuration" "$(in_ct find /etc/tokencache -ls)"
fi
[ "$(in_ct systemctl is-enabled tokencached)" = enabled ] ||
    not_ok "still enabled after the upgrade"

# ---------------------------------------------------------------- remove

if in_ct apt-get remove -y -q tokencache libtokencache-dev libtokencache0 >"$WORK/remove.log" 2>&1 &&
    ! in_ct test -e /usr/sbin/tokencached &&
    ! in_ct pidof tokencached >/dev/null &&
    [ "$(in_ct systemctl is-active tokencached)" = inactive ] &&
    ! in_ct test -e /run/tokencache &&
    in_ct test -f /etc/tokencache/tokencache.conf &&
    in_ct test -f /etc/tokencache/credentials.d/pkg-client.conf &&
    in_ct test -f /etc/tokencache/secrets/pkg-client &&
    in_ct getent passwd tokencache >/dev/null; then
	ok "remove: daemon stopped and gone, /run/tokencache gone; configuration, credential, secret and user kept"
else
	not_ok "remove" "$(tail -n 10 "$WORK/remove.log")" "$(in_ct find /etc/tokencache /run/tokencache 2>&1)"
fi

# ---------------------------------------------------------------- purge

# dpkg: apt-get knows no removed package that no package list has.
if in_ct dpkg --purge tokencache libtokencache-dev libtokencache0 >"$WORK/purge.log" 2>&1 &&
    [ -z "$(in_ct dpkg-query -W -f '${db:Status-Abbrev}${Package}\n' 'tokencache*' 'libtokencache*' 2>/dev/null | grep -v '^un')" ]; then
	ok "purge: no package left in dpkg's database"
else
	not_ok "purge" "$(tail -n 10 "$WORK/purge.log")"
fi
in_ct sh -c 'rm -rf /var/tmp/app /var/tmp/go-* /usr/local/bin/tc-pkg-reader /etc/sysusers.d/tokencache-pkg.conf'
in_ct groupdel tokencache-pkg
in_ct rmdir --ignore-fail-on-non-empty /etc/sysusers.d
in_ct userdel reader
in_ct userdel other
snapshot >"$WORK/after.list"
left=$(comm -13 "$WORK/before.list" "$WORK/after.list")
if [ -z "$left" ]; then
	ok "purge: nothing left in /etc, /lib, /usr, /var, /run (/etc/tokencache, the unit's enablement, /run/tokencache gone)"
else
	not_ok "purge leaves files behind" "$left"
fi
if in_ct getent passwd tokencache >/dev/null; then
	ok "purge keeps the system user tokencache, as Debian does (README.source)"
else
	not_ok "the system user after purge"
fi

echo
echo "package: $pass passed, $fail failed, 0 skipped"
[ $fail -eq 0 ]
