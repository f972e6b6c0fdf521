#!/usr/bin/env bash
# The README, followed as written, on a clean Debian 12 booted with
# systemd (issue 15).  mmdebstrap builds a minimal bookworm root,
# systemd-nspawn boots it (sharing this machine's network, so that it
# reaches the OAuth server on 127.0.0.1 here), and the README's own shell
# blocks for install, configure and use run in it, taken from README.md
# by their markers (<!-- readme-test: NAME --> before the block), with
# only the token URL and the secret substituted.  Then, under the real
# systemd: a reload picks up a new credential, a restart sends no token
# request, a failed reload and a fatal start show in `journalctl -p err`,
# a configuration error is not restarted, and the journal gets priorities
# and no doubled program name.
#
#   bash tests/integration/systemd.sh         (make check-systemd; make check)
#   KEEP=1 ...     keep the container's root and the work directory
#
# Skipped, with the reason, where no container can boot: not root, no
# mmdebstrap or systemd-nspawn (tests/deps.sh installs them), or no
# Debian mirror.  The debootstrapped root is cached in
# /var/tmp/tc-systemd-bookworm (TC_SYSTEMD_CACHE) between runs; each run
# boots a fresh copy of it.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/integration/lib.sh"

skip() {
	echo "skip - the README under systemd on Debian 12 ($1)"
	echo "systemd: 0 passed, 0 failed, 1 skipped"
	exit 0
}
[ "$(id -u)" = 0 ] || skip "needs root to build and boot a container"
for c in mmdebstrap systemd-nspawn nsenter node; do
	command -v "$c" >/dev/null 2>&1 ||
	    skip "no $c here: tests/deps.sh installs mmdebstrap, systemd-container, util-linux, nodejs"
done

CACHE=${TC_SYSTEMD_CACHE:-/var/tmp/tc-systemd-bookworm}
pass=0
fail=0
NSPAWN=
CT=
tc_workdir
ROOT=$(mktemp -d /var/tmp/tc-systemd.XXXXXX)

finish() {
	local i
	if [ -n "$NSPAWN" ] && kill -0 "$NSPAWN" 2>/dev/null; then
		# systemd-nspawn shuts the container down on SIGTERM.
		kill "$NSPAWN"
		for i in $(seq 1 200); do
			kill -0 "$NSPAWN" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$NSPAWN" 2>/dev/null
		wait "$NSPAWN" 2>/dev/null
	fi
	tc_stop_all
	if [ "${KEEP:-0}" = 1 ] || [ $fail -gt 0 ]; then
		echo "kept: $WORK (logs) and $ROOT (the container's root)"
	else
		rm -rf "$WORK" "$ROOT"
	fi
}
trap finish EXIT
trap 'exit 130' INT TERM

ok() { pass=$((pass + 1)); echo "ok   - $1"; }
not_ok() {
	fail=$((fail + 1))
	echo "FAIL - $1"
	shift
	[ $# -gt 0 ] && printf '       %s\n' "$@"
	return 0
}

# readme_block NAME: the fenced block after <!-- readme-test: NAME -->.
readme_block() {
	awk -v want="<!-- readme-test: $1 -->" '
		$0 == want { armed = 1; next }
		armed && !inside && /^```/ { inside = 1; next }
		inside && /^```/ { exit }
		inside { print }
	' "$TOP/README.md"
}

# in_ct COMMAND...: run in the container, as root, with a clean
# environment (and whatever VAR=value pairs the caller puts first).
in_ct() {
	nsenter -t "$CT" -a env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	    HOME=/root LANG=C.UTF-8 "$@"
}
ct_sh() {	# SCRIPT_NAME [VAR=value ...]: run /var/tmp/SCRIPT_NAME with sh -e
	local s=$1
	shift
	in_ct "$@" sh -e "/var/tmp/$s"
}
jerr() { in_ct journalctl -q --no-pager -u tokencached -p err "$@"; }
# jerr_count PATTERN: how many err (or worse) lines of the unit match.
jerr_count() { jerr -o cat | grep -c -- "$1"; }
# jerr_more PATTERN N: more than N such lines already?
jerr_more() { [ "$(jerr_count "$1")" -gt "$2" ]; }
wait_for() {	# SECONDS COMMAND...: until COMMAND succeeds here
	local n=$(($1 * 10)) i
	shift
	for i in $(seq 1 "$n"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
ct_wait() {	# SECONDS COMMAND...: until COMMAND succeeds in the container
	local n=$(($1 * 10)) i
	shift
	for i in $(seq 1 "$n"); do
		in_ct "$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- the root

if [ ! -x "$CACHE/usr/lib/systemd/systemd" ]; then
	echo "building a Debian 12 root with mmdebstrap (about 20 s; cached in $CACHE)..."
	# Built aside and renamed into place: another run may be building too.
	if ! mmdebstrap --variant=minbase --include=systemd,systemd-sysv,dbus,sudo \
	    bookworm "$CACHE.new.$$" >"$WORK/mmdebstrap.log" 2>&1; then
		tail -n 5 "$WORK/mmdebstrap.log"
		rm -rf "$CACHE.new.$$"
		skip "mmdebstrap could not build a bookworm root (no network or no Debian mirror?)"
	fi
	mv -T "$CACHE.new.$$" "$CACHE" 2>/dev/null || rm -rf "$CACHE.new.$$"
fi
cp -a "$CACHE/." "$ROOT/"
chmod 0755 "$ROOT"
# As an installed Debian has it (sudo looks the host name up).
printf '127.0.1.1\t%s\n' "$(hostname)" >>"$ROOT/etc/hosts"
# What a Debian 12 user has and the bare root lacks: the README's
# apt-get answered yes (no terminal here), no pager.
printf 'APT::Get::Assume-Yes "true";\n' >"$ROOT/etc/apt/apt.conf.d/90tc-readme-test"
# The source, as a clone would have it (no build output).
mkdir -p "$ROOT/var/tmp/tokencache"
tar -C "$TOP" --exclude=./.git --exclude='./build*' \
    --exclude=./tests/oauth-server/node_modules -cf - . |
    tar -C "$ROOT/var/tmp/tokencache" -xf -

# ---------------------------------------------------------------- the OAuth server

SECRET='readme-secret-0123456789'
SECOND_SECRET='second-secret-0123456789'
cat >"$WORK/clients.json" <<EOF
[
 {"client_id": "zeebe-worker-client", "client_secret": "$SECRET",
  "token_endpoint_auth_method": "client_secret_post",
  "grant_types": ["client_credentials"], "redirect_uris": [], "response_types": []},
 {"client_id": "second-client", "client_secret": "$SECOND_SECRET",
  "token_endpoint_auth_method": "client_secret_post",
  "grant_types": ["client_credentials"], "redirect_uris": [], "response_types": []}
]
EOF
tc_server sd "$WORK/clients.json" 3600 || { echo "Bail out: no OAuth server"; exit 1; }
P=$PORT_sd
URL="http://127.0.0.1:$P/token"

# ---------------------------------------------------------------- boot

systemd-nspawn -q -D "$ROOT" -b --console=pipe --register=no --keep-unit \
    >"$WORK/nspawn.log" 2>&1 </dev/null &
NSPAWN=$!
# The container's PID 1: nspawn's child, once it has become systemd.
for i in $(seq 1 300); do
	CT=$(pgrep -P "$NSPAWN" -x systemd | head -n1)
	[ -n "$CT" ] && break
	sleep 0.1
done
[ -n "$CT" ] || { cat "$WORK/nspawn.log"; skip "systemd-nspawn did not boot the container"; }
# Until its bus is up, systemctl cannot even ask.
for i in $(seq 1 600); do
	state=$(in_ct systemctl is-system-running --wait 2>&1)
	case $state in
	running | degraded) break ;;
	esac
	sleep 0.1
done
case $state in
running | degraded) ;;
*) cat "$WORK/nspawn.log"; skip "the container's systemd did not come up ($state)" ;;
esac
echo "booted Debian 12 with $(in_ct systemctl --version | head -n1) (container pid $CT)"

# ---------------------------------------------------------------- Install

{
	echo 'set -x'
	echo 'cd /var/tmp/tokencache'
	readme_block install
} >"$ROOT/var/tmp/readme-install.sh"
if ! grep -q 'systemctl enable --now tokencached' "$ROOT/var/tmp/readme-install.sh"; then
	not_ok "README: the install block" "no <!-- readme-test: install --> block that enables the service"
	exit 1
fi
# Type=simple: active at once; it has read its configuration when it
# answers.
if ct_sh readme-install.sh >"$WORK/install.log" 2>&1 &&
    ct_wait 15 tokencachectl list; then
	ok "README install block: built, installed, service enabled and running"
else
	not_ok "README install block" "$(tail -n 20 "$WORK/install.log")" \
	    "$(in_ct journalctl -q --no-pager -u tokencached | tail -n 20)"
	exit 1
fi

# ---------------------------------------------------------------- Configure

readme_block "file /etc/tokencache/tokencache.conf" >"$ROOT/etc/tokencache/tokencache.conf"
readme_block "file /etc/tokencache/credentials.d/zeebe-worker-client.conf" |
    sed "s|^token_url = https://login.cloud.camunda.io/oauth/token\$|token_url = $URL|" \
    >"$ROOT/etc/tokencache/credentials.d/zeebe-worker-client.conf"
readme_block configure >"$ROOT/var/tmp/readme-configure.sh"
if ! grep -q "^token_url = $URL\$" "$ROOT/etc/tokencache/credentials.d/zeebe-worker-client.conf" ||
    ! grep -q '^runtime_dir = ' "$ROOT/etc/tokencache/tokencache.conf" ||
    ! grep -q 'SECRET' "$ROOT/var/tmp/readme-configure.sh"; then
	not_ok "README: the configure blocks" "a marked block or the token_url line to substitute is missing"
	exit 1
fi
# The service user the credential names (allow_users = zeebe-worker), as
# the admin's service would have it.
in_ct useradd --system --no-create-home --shell /bin/sh zeebe-worker
if ct_sh readme-configure.sh SECRET="$SECRET" >"$WORK/configure.log" 2>&1 &&
    ct_wait 15 tokencachectl token zeebe-worker-client --wait 1; then
	ok "README configure blocks: main file, credential file, secret through sudo, reload"
else
	not_ok "README configure blocks" "$(cat "$WORK/configure.log")" \
	    "$(in_ct journalctl -q --no-pager -u tokencached | tail -n 20)"
	exit 1
fi

# ---------------------------------------------------------------- Use

readme_block use >"$ROOT/var/tmp/readme-use.sh"
if in_ct runuser -u zeebe-worker -- sh -e /var/tmp/readme-use.sh >"$WORK/use.out" 2>&1 &&
    head -n1 "$WORK/use.out" >"$WORK/token" &&
    tc_verify "$P" zeebe-worker-client "$SECRET" "$WORK/token" >/dev/null 2>&1; then
	ok "README use block as zeebe-worker: a token the server accepts, list, check"
else
	not_ok "README use block" "$(cat "$WORK/use.out")"
fi

mkdir -p "$ROOT/var/tmp/app"
readme_block c >"$ROOT/var/tmp/app/app.c"
cmd=$(sed -n 's/^From C, `app.c`, built with `\(.*\)`:$/\1/p' "$TOP/README.md")
if [ -n "$cmd" ] &&
    in_ct sh -ec "cd /var/tmp/app && $cmd" >"$WORK/cc.log" 2>&1 &&
    in_ct runuser -u zeebe-worker -- /var/tmp/app/app >"$WORK/app.out" 2>&1 &&
    [ "$(cat "$WORK/app.out")" = "Authorization: Bearer $(cat "$WORK/token")" ]; then
	ok "README C program: built with the README's command, reads the token as zeebe-worker"
else
	not_ok "README C program ($cmd)" "$(cat "$WORK/cc.log" "$WORK/app.out" 2>/dev/null)"
fi
if in_ct runuser -u nobody -- /var/tmp/app/app >"$WORK/app-nobody.out" 2>&1; then
	not_ok "the C program as nobody" "got a token"
else
	grep -q "permission denied" "$WORK/app-nobody.out" &&
	    ok "the C program as nobody: permission denied" ||
	    not_ok "the C program as nobody" "$(cat "$WORK/app-nobody.out")"
fi

# ---------------------------------------------------------------- reload

cat >"$ROOT/etc/tokencache/credentials.d/second-client.conf" <<EOF
[credential]
provider = oauth2
token_url = $URL
client_id = second-client
client_secret_file = /etc/tokencache/secrets/second-client
EOF
printf %s "$SECOND_SECRET" >"$ROOT/etc/tokencache/secrets/second-client"
chmod 0600 "$ROOT/etc/tokencache/secrets/second-client"
if in_ct systemctl reload tokencached &&
    ct_wait 15 tokencachectl token second-client --wait 1; then
	ok "systemctl reload picks up a new credential"
else
	not_ok "systemctl reload picks up a new credential" \
	    "$(in_ct journalctl -q --no-pager -u tokencached | tail -n 20)"
fi

# ---------------------------------------------------------------- restart

tok=$(in_ct tokencachectl token zeebe-worker-client)
before=$(tc_stats "$P")
if in_ct systemctl restart tokencached &&
    ct_wait 10 tokencachectl token zeebe-worker-client &&
    [ "$(in_ct tokencachectl token zeebe-worker-client)" = "$tok" ] &&
    [ "$(tc_stats "$P")" = "$before" ] &&
    in_ct journalctl -q --no-pager -u tokencached -n 5 | grep -q "adopted the existing cache"; then
	ok "systemctl restart adopts the cache: same token, no token request ($before before and after)"
else
	not_ok "systemctl restart adopts the cache" "requests $before -> $(tc_stats "$P")" \
	    "$(in_ct journalctl -q --no-pager -u tokencached | tail -n 20)"
fi

# ---------------------------------------------------------------- the journal

pat="reload failed, keeping the running configuration: /etc/tokencache/credentials.d/broken.conf:2: unknown key"
n=$(jerr_count "$pat")
printf '[credential]\ntokn_url = x\n' >"$ROOT/etc/tokencache/credentials.d/broken.conf"
in_ct systemctl reload tokencached
if wait_for 10 jerr_more "$pat" "$n"; then
	ok "a failed reload shows in journalctl -p err, with file:line"
else
	not_ok "a failed reload in journalctl -p err" "$(jerr -n 5)"
fi
rm -f "$ROOT/etc/tokencache/credentials.d/broken.conf"
if in_ct journalctl -q --no-pager -u tokencached -o cat | grep -q '^tokencached: '; then
	not_ok "journal lines name the program once" \
	    "$(in_ct journalctl -q --no-pager -u tokencached -o cat | grep '^tokencached: ' | head -n 3)"
else
	ok "journal lines name the program once"
fi
if in_ct journalctl -q --no-pager -u tokencached -p info -o cat | grep -q 'running as tokencache' &&
    ! jerr -o cat | grep -q 'running as tokencache'; then
	ok "information is at info, not err"
else
	not_ok "information is at info, not err"
fi

# A fatal start: a configuration error, not restarted, at err.
cp "$ROOT/etc/tokencache/tokencache.conf" "$WORK/tokencache.conf.good"
printf 'user = nosuchuser\n' >>"$ROOT/etc/tokencache/tokencache.conf"
pat="fatal: /etc/tokencache/tokencache.conf: user 'nosuchuser' does not exist"
n=$(jerr_count "$pat")
in_ct systemctl restart tokencached >/dev/null 2>&1
sleep 5	# two RestartSec= periods: a retry would have happened
status=$(in_ct systemctl show -P ExecMainStatus tokencached)
restarts=$(in_ct systemctl show -P NRestarts tokencached)
active=$(in_ct systemctl is-active tokencached)
if [ "$status" = 78 ] && [ "$restarts" = 0 ] && [ "$active" = failed ] &&
    jerr_more "$pat" "$n"; then
	ok "a fatal configuration error: exit 78, in journalctl -p err, not restarted"
else
	not_ok "a fatal configuration error" "status $status, restarts $restarts, $active" \
	    "$(in_ct journalctl -q --no-pager -u tokencached | tail -n 8)"
fi
cp "$WORK/tokencache.conf.good" "$ROOT/etc/tokencache/tokencache.conf"
# (The failed start removed /run/tokencache, as a stop does: the
# restart fetches anew.)
if in_ct systemctl restart tokencached &&
    ct_wait 15 tokencachectl token zeebe-worker-client --wait 1; then
	ok "fixed and restarted: serving"
else
	not_ok "fixed and restarted"
fi

# ---------------------------------------------------------------- sandbox

in_ct systemd-analyze security --no-pager tokencached >"$WORK/security.txt" 2>&1
score=$(sed -n 's/.*Overall exposure level for tokencached.service: \([0-9.]*\).*/\1/p' "$WORK/security.txt")
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s < 3.0) }'; then
	ok "systemd-analyze security: exposure $score"
else
	not_ok "systemd-analyze security: exposure ${score:-?}, want below 3.0" "$(grep -E '^✗' "$WORK/security.txt" | head -n 20)"
fi

echo
echo "systemd: $pass passed, $fail failed, 0 skipped"
[ $fail -eq 0 ]
