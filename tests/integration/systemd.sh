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
# and no doubled program name; Type=notify: `systemctl start` returns once
# the tokens exist, and within the bound with the token service down, the
# status line says so, a reload goes through RELOADING=1 and READY=1; and
# systemd-analyze verify and security judge the unit.  Every shell block in the README's Install,
# Configure and Use sections must carry a marker (<!-- readme-test: none -->
# for one that is only illustrative), on the line right before its fence.
#
#   bash tests/integration/systemd.sh         (make check-systemd; make check)
#   KEEP=1 ...     keep the container's root
#
# Skipped, with the reason, where no container can boot: not root, no
# mmdebstrap or systemd-nspawn (tests/deps.sh installs them), or no
# Debian mirror (when building the root, or apt-get update in the
# container).  The debootstrapped root, with the packages the README's
# install block names, is cached in /var/tmp/tc-systemd-bookworm
# (TC_SYSTEMD_CACHE) between runs; each run boots a fresh copy of it,
# removed afterwards (KEEP=1 keeps it).  The work directory, with the
# container's journal and the logs, is kept when a test fails.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/integration/lib.sh"

CT_SUITE=systemd
CT_WHAT="the README under systemd on Debian 12"
. "$TOP/tests/container.sh"
ct_require mmdebstrap systemd-nspawn nsenter node

CACHE=${TC_SYSTEMD_CACHE:-/var/tmp/tc-systemd-bookworm}
tc_workdir

# On every way out: the container's journal into $WORK, then
# ct_teardown.
finish() {
	trap '' INT TERM
	if ct_running; then
		in_ct journalctl -q --no-pager -u tokencached >"$WORK/journal-tokencached.log" 2>&1
		in_ct journalctl -q --no-pager -b >"$WORK/journal.log" 2>&1
	fi
	ct_teardown
}
trap finish EXIT
trap 'exit 130' INT TERM

# readme_block NAME: the fenced block right after <!-- readme-test: NAME -->
# (its opening fence on the next line); fails if there is none.
readme_block() {
	awk -v want="<!-- readme-test: $1 -->" '
		$0 == want && !found { found = 1; armed = 1; next }
		armed { armed = 0
			if (/^```/) { inside = 1; next }
			bad = 1; exit }
		inside && /^```/ { closed = 1; exit }
		inside { print }
		END {
			if (!found || bad || !closed) {
				printf "README.md: no fenced block on the line after %s\n", want >"/dev/stderr"
				exit 1
			}
		}
	' "$TOP/README.md"
}

# readme_unmarked: the shell blocks of the Install, Configure and Use
# sections without a marker on the line before their fence, as
# "LINE: FENCE".
readme_unmarked() {
	awk '
		/^## / { sec = /^## (Install|Configure|Use)/ }
		/^```/ {
			if (!inside && sec && /^```(sh|bash|shell|console)[ \t]*$/ &&
			    prev !~ /^<!-- readme-test: [^>]+ -->$/)
				print NR ": " $0
			inside = !inside
		}
		{ prev = $0 }
	' "$TOP/README.md"
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
# wait_for SECONDS COMMAND...: until COMMAND succeeds here (lib.sh).

# ---------------------------------------------------------------- the README's blocks

unmarked=$(readme_unmarked)
if [ -n "$unmarked" ]; then
	not_ok "README: every shell block in Install, Configure and Use is tested" \
	    "no <!-- readme-test: NAME --> (or: none) on the line before:" "$unmarked"
	exit 1
fi
for b in install "file /etc/tokencache/tokencache.conf" \
    "file /etc/tokencache/credentials.d/zeebe-worker-client.conf" configure use c \
    endpoint; do
	readme_block "$b" >/dev/null || { not_ok "README: the block '$b'"; exit 1; }
done
ok "README: every shell block in Install, Configure and Use is marked; each marked block found"
# The packages the install block installs, taken from it: in the cached
# root already, so that a run only checks them.
readme_pkgs=$(readme_block install | awk '
	/apt-get install/ {
		for (i = 1; i <= NF && $i != "install"; i++) ;
		for (i++; i <= NF && $i != "#"; i++) if ($i !~ /^-/) print $i
	}' | sort -u | tr '\n' ',')
readme_pkgs=${readme_pkgs%,}
[ -n "$readme_pkgs" ] || { not_ok "README: the install block" "no apt-get install line"; exit 1; }

# ---------------------------------------------------------------- the root

pkgs="systemd,systemd-sysv,dbus,sudo,$readme_pkgs"
ct_root "$CACHE" "$pkgs" var/lib/tc-systemd-packages
# As an installed Debian has it (sudo looks the host name up).
printf '127.0.1.1\t%s\n' "$(hostname)" >>"$ROOT/etc/hosts"
# What a Debian 12 user has and the bare root lacks: the README's
# apt-get answered yes (no terminal here), no pager.
printf 'APT::Get::Assume-Yes "true";\n' >"$ROOT/etc/apt/apt.conf.d/90tc-readme-test"
# The source, as a clone would have it (no build output).
mkdir -p "$ROOT/var/tmp/tokencache"
tar -C "$TOP" --exclude=./.git --exclude='./build*' \
    --exclude=./tests/oauth-server/node_modules \
    --exclude=./tests/clients/node_modules -cf - . |
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

ct_boot

# ---------------------------------------------------------------- Install

# The install block runs apt-get update: without a mirror it cannot pass,
# and that says nothing about the README.
if ! in_ct apt-get update >"$WORK/apt-update.log" 2>&1; then
	tail -n 5 "$WORK/apt-update.log"
	skip "apt-get update fails in the container (no network or no Debian mirror?)"
fi
{
	echo 'set -x'
	echo 'cd /var/tmp/tokencache'
	readme_block install
} >"$ROOT/var/tmp/readme-install.sh"
# The packages (make deb) enable and start the service themselves.
if ! grep -q -e 'systemctl enable --now tokencached' -e 'apt install \./build/tokencache_' \
    "$ROOT/var/tmp/readme-install.sh"; then
	not_ok "README: the install block" "no <!-- readme-test: install --> block that installs the package or enables the service"
	exit 1
fi
# Type=notify: `systemctl enable --now` returns once the daemon is ready,
# at once here (no credential yet).
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

# ---------------------------------------------------------------- Endpoint

# The local token endpoint the README's main file turns on, under the
# unit's sandbox (RestrictAddressFamilies must let the peer lookup's
# AF_NETLINK through): its block as zeebe-worker, then nobody refused.
readme_block endpoint >"$ROOT/var/tmp/readme-endpoint.sh"
if in_ct runuser -u zeebe-worker -- sh -e /var/tmp/readme-endpoint.sh \
    >"$WORK/endpoint.out" 2>&1 &&
    grep -q '^CAMUNDA_OAUTH_URL=http://127.0.0.1:8721/oauth/token$' "$WORK/endpoint.out" &&
    grep -qF "{\"access_token\":\"$(cat "$WORK/token")\"," "$WORK/endpoint.out"; then
	ok "README endpoint block as zeebe-worker: tokencachectl env, the token over loopback HTTP"
else
	not_ok "README endpoint block" "$(cat "$WORK/endpoint.out")" \
	    "$(in_ct ls -lan /run/tokencache; in_ct sh -c 'for p in $(pidof tokencached); do grep -H Uid /proc/$p/status; done'; in_ct id tokencache)" \
	    "$(in_ct journalctl -q --no-pager -u tokencached | tail -n 20)"
fi
if in_ct runuser -u nobody -- curl -s -d \
    'grant_type=client_credentials&client_id=zeebe-worker-client' \
    http://127.0.0.1:8721/oauth/token >"$WORK/endpoint-nobody.out" 2>&1 &&
    grep -q '"error":"invalid_client"' "$WORK/endpoint-nobody.out"; then
	ok "the endpoint as nobody: 401 invalid_client"
else
	not_ok "the endpoint as nobody" "$(cat "$WORK/endpoint-nobody.out")"
fi

# ---------------------------------------------------------------- Camunda

# The console's file as an admin downloads it, for a client of the test
# server (its token URL on the host's loopback), then the README's
# commands as written.
mkdir -p "$ROOT/root/Downloads"
{
	echo "export ZEEBE_ADDRESS='0a1b2c3d.bru-2.zeebe.camunda.io:443'"
	echo "export ZEEBE_CLIENT_ID='zeebe-worker-client'"
	echo "export ZEEBE_CLIENT_SECRET='$SECRET'"
	echo "export ZEEBE_AUTHORIZATION_SERVER_URL='$URL'"
	echo "export ZEEBE_TOKEN_AUDIENCE='zeebe.camunda.io'"
	echo "export CAMUNDA_CREDENTIALS_SCOPES='Zeebe,Operate'"
	echo "export CAMUNDA_OAUTH_URL='$URL'"
} | sed 's/$/\r/' >"$ROOT/root/Downloads/credentials.txt"
readme_block camunda >"$ROOT/var/tmp/readme-camunda.sh"
if in_ct env HOME=/root sh -e /var/tmp/readme-camunda.sh >"$WORK/camunda.out" 2>&1 &&
    tail -n1 "$WORK/camunda.out" >"$WORK/camunda-token" &&
    tc_verify "$P" zeebe-worker-client "$SECRET" "$WORK/camunda-token" >/dev/null 2>&1 &&
    [ -f "$ROOT/etc/tokencache/credentials.d/acme.operate.conf" ]; then
	ok "README Camunda block: the console's file imported, acme.zeebe served"
else
	not_ok "README Camunda block" "$(cat "$WORK/camunda.out")" \
	    "$(in_ct journalctl -q --no-pager -u tokencached | tail -n 20)"
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

# ---------------------------------------------------------------- journal fields

# jfield_lines MATCH...: the MESSAGEs of the unit's entries that match
# (journalctl's FIELD=VALUE matches, ANDed).
jfield_lines() { in_ct journalctl -q --no-pager -u tokencached -o cat "$@"; }

# journal_fields: the daemon's events are journal entries with fields
# (tokencached(8), LOGGING): `journalctl CREDENTIAL=NAME` finds that
# credential's fetch lines and no other's, a denied reader's line has
# READER_UID and OUTCOME=denied, TOKENCACHED_PROCESS tells the monitor's
# lines from the worker's, and no entry of the daemon holds a token or a
# secret.  Run after the README's blocks (a denial of nobody) and the
# reload (second-client).
journal_fields() {
	local nobody t2 f m
	nobody=$(in_ct id -u nobody)
	t2=$(in_ct tokencachectl token second-client)
	if ct_wait 10 sh -c 'journalctl -q --no-pager -u tokencached -o cat CREDENTIAL=zeebe-worker-client OUTCOME=ok | grep -q "worker: zeebe-worker-client: new Bearer token"' &&
	    ! jfield_lines CREDENTIAL=zeebe-worker-client | grep -q second-client &&
	    jfield_lines CREDENTIAL=second-client OUTCOME=ok | grep -q "worker: second-client: new Bearer token" &&
	    ! jfield_lines CREDENTIAL=second-client | grep -q zeebe-worker-client; then
		ok "journalctl CREDENTIAL=NAME: that credential's fetch lines, not another's"
	else
		not_ok "journalctl CREDENTIAL=NAME" \
		    "$(in_ct journalctl -q --no-pager -u tokencached -o verbose | tail -n 60)"
	fi
	f=$(in_ct journalctl -q --no-pager -u tokencached -o export \
	    CREDENTIAL=zeebe-worker-client OUTCOME=ok | grep -a -e '^TOKEN_ENDPOINT=' -e '^HTTP_STATUS=' | sort -u)
	if [ "$f" = "$(printf 'HTTP_STATUS=200\nTOKEN_ENDPOINT=%s' "$URL")" ]; then
		ok "a fetch's entry: TOKEN_ENDPOINT=$URL, HTTP_STATUS=200"
	else
		not_ok "a fetch's entry: TOKEN_ENDPOINT and HTTP_STATUS" "$f"
	fi
	# The C program as nobody was refused its key (the README's Use).
	if jfield_lines OUTCOME=denied "READER_UID=$nobody" CREDENTIAL=zeebe-worker-client |
	    grep -q "worker: zeebe-worker-client: denied .* to uid $nobody"; then
		ok "a denied reader: OUTCOME=denied READER_UID=$nobody CREDENTIAL=zeebe-worker-client"
	else
		not_ok "a denied reader's entry" \
		    "$(in_ct journalctl -q --no-pager -u tokencached -o verbose OUTCOME=denied | tail -n 30)"
	fi
	m=$(jfield_lines TOKENCACHED_PROCESS=monitor)
	if printf '%s\n' "$m" | grep -q '^monitor: started the worker, pid [0-9]*, to run as tokencache$' &&
	    ! printf '%s\n' "$m" | grep -q '^worker: ' &&
	    jfield_lines TOKENCACHED_PROCESS=worker | grep -q '^worker: running as tokencache' &&
	    ! jfield_lines TOKENCACHED_PROCESS=worker | grep -q '^monitor: '; then
		ok "TOKENCACHED_PROCESS=monitor and =worker: each process's own lines"
	else
		not_ok "TOKENCACHED_PROCESS" "monitor: $m" \
		    "$(jfield_lines TOKENCACHED_PROCESS=worker | tail -n 5)"
	fi
	# Every field of every entry of the daemon's: the unit's, and any
	# that names the program outside it.
	{
		in_ct journalctl -q --no-pager -u tokencached -o export
		in_ct journalctl -q --no-pager SYSLOG_IDENTIFIER=tokencached -o export
	} >"$WORK/journal-export"
	if grep -a -q -F -e "$SECRET" -e "$SECOND_SECRET" -e "$(cat "$WORK/token")" -e "$t2" \
	    "$WORK/journal-export"; then
		not_ok "no token or secret in the daemon's journal entries" \
		    "$(grep -a -F -e "$SECRET" -e "$SECOND_SECRET" -e "$(cat "$WORK/token")" -e "$t2" \
		    "$WORK/journal-export" | head -n 3 | cut -c1-120)"
	elif [ -z "$t2" ] || ! [ -s "$WORK/token" ] ||
	    ! grep -a -q '^CREDENTIAL=second-client$' "$WORK/journal-export"; then
		not_ok "no token or secret in the journal: nothing to look for" "token 2: '$t2'"
	else
		ok "no token or secret in any field of the daemon's journal entries"
	fi
}

journal_fields

# ---------------------------------------------------------------- the journal

pat="reload failed, keeping the running configuration: /etc/tokencache/credentials.d/broken.conf:2: unknown key"
n=$(jerr_count "$pat")
printf '[credential]\ntokn_url = x\n' >"$ROOT/etc/tokencache/credentials.d/broken.conf"
if in_ct systemctl reload tokencached >"$WORK/reload-broken.log" 2>&1; then
	not_ok "systemctl reload fails on a broken configuration" "it succeeded"
elif wait_for 10 jerr_more "$pat" "$n"; then
	ok "systemctl reload fails on a broken configuration; journalctl -p err has it, with file:line"
else
	not_ok "a failed reload in journalctl -p err" "$(jerr -n 5)"
fi
rm -f "$ROOT/etc/tokencache/credentials.d/broken.conf"
if in_ct systemctl reload tokencached >"$WORK/reload-fixed.log" 2>&1; then
	ok "fixed: systemctl reload succeeds"
else
	not_ok "fixed: systemctl reload succeeds" "$(cat "$WORK/reload-fixed.log")"
fi

# A credential that cannot load (an empty secret file, issue 15.3):
# the reload fails, and check fails naming the file until one succeeds.
st=0
in_ct tokencachectl check >"$WORK/check-empty.log" 2>&1 || st=$?
cat >"$ROOT/etc/tokencache/credentials.d/third-client.conf" <<EOF
[credential]
provider = oauth2
token_url = $URL
client_id = third-client
client_secret_file = /etc/tokencache/secrets/third-client
EOF
: >"$ROOT/etc/tokencache/secrets/third-client"
chmod 0600 "$ROOT/etc/tokencache/secrets/third-client"
if in_ct systemctl reload tokencached >"$WORK/reload-empty.log" 2>&1; then
	not_ok "systemctl reload with an empty secret file" "it succeeded"
elif [ $st != 0 ]; then
	not_ok "check before that reload" "exit $st: $(cat "$WORK/check-empty.log")"
elif in_ct tokencachectl check >"$WORK/check-empty.log" 2>&1; then
	not_ok "check with a credential that cannot load" "exit 0: $(cat "$WORK/check-empty.log")"
elif ! grep -q "/etc/tokencache/credentials.d/third-client.conf" "$WORK/check-empty.log"; then
	not_ok "check names the credential file" "$(cat "$WORK/check-empty.log")"
else
	ok "an empty secret file: systemctl reload fails, check fails naming the file"
fi
rm -f "$ROOT/etc/tokencache/credentials.d/third-client.conf" "$ROOT/etc/tokencache/secrets/third-client"
if in_ct systemctl reload tokencached >/dev/null 2>&1 && in_ct tokencachectl check >/dev/null 2>&1; then
	ok "fixed: reload and check pass again"
else
	not_ok "fixed: reload and check pass again" "$(in_ct tokencachectl check 2>&1)"
fi
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
sed -i 's/^\[daemon\]$/&\nuser = nosuchuser/' "$ROOT/etc/tokencache/tokencache.conf"
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

# ---------------------------------------------------------------- Type=notify

# Readiness, reload and status under the real systemd (tokencached(8),
# SYSTEMD).  Each function leaves the unit running with the credentials
# it found.  The starts of the tests above count against the unit's
# start limit (five a minute): nt_restart clears them first.

nt_status() { in_ct systemctl show -P StatusText tokencached; }
nt_stop() {
	in_ct systemctl stop tokencached
	in_ct systemctl reset-failed tokencached >/dev/null 2>&1
}
# nt_since T0: seconds since T0 (date +%s.%N), to the millisecond.
nt_since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.3f", e - s }'; }
# nt_between X LO HI: LO <= X < HI, as decimals.
nt_between() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x >= lo && x < hi) }'; }

# `systemctl start` returns only once the tokens exist: with the token
# server answering 1.5 s late, a start that returned before them would
# list them pending.
t_notify_start() {
	local t0 took st=0 status bad valid n
	nt_stop		# /run/tokencache goes: fetch anew
	tc_server_ctl "$P" "/_delay?ms=1500"
	t0=$(date +%s.%N)
	in_ct systemctl start tokencached || st=$?
	took=$(nt_since "$t0")
	in_ct tokencachectl list >"$WORK/notify-list.out" 2>&1
	status=$(nt_status)
	tc_server_ctl "$P" "/_delay?ms=0"
	# The STATE column, by its heading (the columns before it may grow).
	bad=$(awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "STATE") c = i; next }
	    $c != "valid"' "$WORK/notify-list.out")
	n=$(awk 'NR > 1' "$WORK/notify-list.out" | wc -l)
	valid=$(awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "STATE") c = i; next }
	    $c == "valid"' "$WORK/notify-list.out" | wc -l)
	if [ "$st" = 0 ] &&
	    [ "$(in_ct systemctl show -P Type tokencached)" = notify ] &&
	    [ "$(in_ct systemctl show -P NotifyAccess tokencached)" = main ] &&
	    [ -z "$bad" ] && [ "$n" -ge 2 ] &&
	    nt_between "$took" 1.5 60 &&
	    printf '%s\n' "$status" |
	    grep -Eq "^$n credentials, $valid valid; next refresh in [0-9]+m\$"; then
		ok "Type=notify: systemctl start returned after $took s, all $n tokens listed valid; StatusText: $status"
	else
		not_ok "Type=notify: systemctl start returns once the tokens exist" \
		    "exit $st after $took s; StatusText: $status" "$(cat "$WORK/notify-list.out")" \
		    "$(in_ct journalctl -q --no-pager -u tokencached | tail -n 10)"
	fi
}

# With its token service down, a credential holds the start for its
# timeout (4 s here) and no longer; the status line says what is missing.
t_notify_down() {
	local f=/etc/tokencache/credentials.d/notify-down.conf t0 took st=0 status
	printf '%s\n' '[credential]' 'provider = oauth2' \
	    'token_url = http://127.0.0.1:1/token' 'client_id = second-client' \
	    'client_secret_file = /etc/tokencache/secrets/second-client' \
	    'timeout = 4' >"$ROOT$f"
	nt_stop
	t0=$(date +%s.%N)
	in_ct systemctl start tokencached || st=$?
	took=$(nt_since "$t0")
	status=$(nt_status)
	if [ "$st" = 0 ] && [ "$(in_ct systemctl is-active tokencached)" = active ] &&
	    nt_between "$took" 4 20 &&
	    printf '%s\n' "$status" | grep -Eq '^[0-9]+/[0-9]+ valid; notify-down: .*connect' &&
	    in_ct journalctl -q --no-pager -u tokencached -o cat |
	    grep -q 'ready without every token after'; then
		ok "token service down: systemctl start returned after $took s (timeout = 4); StatusText: $status"
	else
		not_ok "token service down: start within the bound, StatusText says what is missing" \
		    "exit $st after $took s; StatusText: $status" \
		    "$(in_ct journalctl -q --no-pager -u tokencached | tail -n 10)"
	fi
	rm -f "$ROOT$f"
	in_ct systemctl reload tokencached
}

# A reload: `systemctl reload` returns once the new configuration
# applies; a SIGHUP to the main process goes through RELOADING=1 and
# READY=1, both from the main process, which systemd follows (running ->
# reload -> running), as its debug log shows.
t_notify_reload() {
	local f=/etc/tokencache/credentials.d/notify-added.conf st=0 pid n0 i status seq
	printf '%s\n' '[credential]' 'provider = oauth2' "token_url = $URL" \
	    'client_id = second-client' \
	    'client_secret_file = /etc/tokencache/secrets/second-client' >"$ROOT$f"
	in_ct systemctl reload tokencached || st=$?
	if [ "$st" = 0 ] && in_ct tokencachectl list | grep -q '^notify-added '; then
		ok "systemctl reload returns once applied: the credential it added is listed right after"
	else
		not_ok "systemctl reload returns once applied" "exit $st" \
		    "$(in_ct tokencachectl list 2>&1)"
	fi
	rm -f "$ROOT$f"
	pid=$(in_ct systemctl show -P MainPID tokencached)
	in_ct systemd-analyze log-level debug
	n0=$(in_ct journalctl -q --no-pager -u tokencached -o cat | wc -l)
	in_ct systemctl kill --kill-who=main --signal=HUP tokencached
	for i in $(seq 1 100); do
		in_ct journalctl -q --no-pager -u tokencached -o cat | tail -n +$((n0 + 1)) \
		    >"$WORK/notify-reload.log"
		grep -q 'Changed reload -> running' "$WORK/notify-reload.log" && break
		sleep 0.1
	done
	in_ct systemd-analyze log-level info
	status=$(nt_status)
	# The four steps, in this order.
	seq=$(grep -E "Got notification message from PID $pid \((RELOADING|READY)=1|Changed (running -> reload|reload -> running)" \
	    "$WORK/notify-reload.log" | sed -e 's/.*Got notification message from PID [0-9]* (\([A-Z]*\)=1.*/\1/' \
	    -e 's/.*Changed \(.*\)$/\1/' | tr '\n' '|')
	if [ "$seq" = "RELOADING|running -> reload|READY|reload -> running|" ] &&
	    grep -Eq "Got notification message from PID $pid \(RELOADING=1, MONOTONIC_USEC=[0-9]+\)" \
	    "$WORK/notify-reload.log" &&
	    [ "$(in_ct systemctl show -P ActiveState tokencached)" = active ] &&
	    [ "$(in_ct systemctl show -P SubState tokencached)" = running ] &&
	    ! in_ct tokencachectl list | grep -q '^notify-added ' &&
	    printf '%s\n' "$status" | grep -Eq '^[0-9]+ credentials, [0-9]+ valid'; then
		ok "SIGHUP: RELOADING=1 (with MONOTONIC_USEC=), then READY=1, from the main process; running -> reload -> running; StatusText: $status"
	else
		not_ok "SIGHUP: RELOADING=1, READY=1, running again" "steps: $seq" \
		    "StatusText: $status" "$(grep -E 'notification|Changed' "$WORK/notify-reload.log")"
	fi
}

# The unit as systemd reads it: no warning (--man=no: the minimal root
# has no man(1) to look its Documentation= pages up with).
t_notify_verify() {
	local st=0
	in_ct systemd-analyze verify --man=no /etc/systemd/system/tokencached.service \
	    >"$WORK/verify.txt" 2>&1 || st=$?
	if [ "$st" = 0 ] && [ ! -s "$WORK/verify.txt" ]; then
		ok "systemd-analyze verify tokencached.service: clean"
	else
		not_ok "systemd-analyze verify tokencached.service" "exit $st" "$(cat "$WORK/verify.txt")"
	fi
	# make install puts it there as it is, the package gzipped.
	if in_ct sh -c 'test -f /usr/share/man/man8/tokencached.8 ||
	    test -f /usr/share/man/man8/tokencached.8.gz'; then
		ok "the unit's Documentation=man:tokencached(8) is installed"
	else
		not_ok "the unit's Documentation=man:tokencached(8) is installed"
	fi
}

t_notify_start
t_notify_down
t_notify_reload
t_notify_verify

# ---------------------------------------------------------------- start limit

# A failure that is not a configuration error (status 1: another daemon
# holds the runtime directory's lock) is retried every RestartSec=, but
# only up to the unit's start limit, not forever.
# The starts of the tests above count too: reset-failed clears them.
in_ct systemctl stop tokencached
in_ct systemctl reset-failed tokencached >/dev/null 2>&1
limit_hit() {
	in_ct journalctl -q --no-pager -u tokencached -o cat |
	    grep -c 'Start request repeated too quickly'
}
n=$(limit_hit)
if in_ct systemd-run -q --unit=tc-other tokencached -f -c /etc/tokencache/tokencache.conf &&
    ct_wait 15 tokencachectl token zeebe-worker-client --wait 1; then
	in_ct systemctl start tokencached >/dev/null 2>&1
	for i in $(seq 1 300); do
		[ "$(limit_hit)" -gt "$n" ] && break
		sleep 0.1
	done
	active=$(in_ct systemctl is-active tokencached)
	restarts=$(in_ct systemctl show -P NRestarts tokencached)
	status=$(in_ct systemctl show -P ExecMainStatus tokencached)
	if [ "$(limit_hit)" -gt "$n" ] && [ "$active" = failed ] && [ "$status" = 1 ] &&
	    [ "$restarts" -ge 1 ] && [ "$restarts" -le 5 ]; then
		ok "a failure that is not a configuration error: restarted $restarts times, then stopped by the start limit"
	else
		not_ok "the start limit" "$active, status $status, restarts $restarts" \
		    "$(in_ct journalctl -q --no-pager -u tokencached | tail -n 8)"
	fi
else
	not_ok "the start limit: a second daemon outside the unit" \
	    "$(in_ct journalctl -q --no-pager -u tc-other | tail -n 8)"
fi
in_ct systemctl stop tc-other >/dev/null 2>&1
in_ct systemctl reset-failed tokencached >/dev/null 2>&1
if in_ct systemctl start tokencached &&
    ct_wait 15 tokencachectl token zeebe-worker-client --wait 1; then
	ok "started again after reset-failed: serving"
else
	not_ok "started again after reset-failed" "$(in_ct journalctl -q --no-pager -u tokencached | tail -n 8)"
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
