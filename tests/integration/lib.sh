# lib.sh - shared by the integration tests, the demo and the benchmark:
# start a real OAuth server (oidc-provider) and tokencached in a private
# directory, talk to them, stop them.  Everything listens on 127.0.0.1.
#
# Source it from bash with TOP set to the repository root.

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
B=${B:-$TOP/build}
CTL=$B/tokencachectl
DAEMON=${TC_DAEMON:-$B/tests/tokencached}
SERVER_DIR=$TOP/tests/oauth-server

# A fresh work directory; WORK is set.
tc_workdir() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/tokencache.XXXXXX")
	chmod 0755 "$WORK"
	mkdir -p "$WORK/creds" "$WORK/secrets"
	chmod 0700 "$WORK/secrets"
}

# tc_server NAME CLIENTS_JSON TTL: start an OAuth server; sets
# PORT_<NAME> and writes its files under $WORK/server-NAME.
tc_server() {
	local name=$1 clients=$2 ttl=$3 d port
	d=$WORK/server-$name
	mkdir -p "$d"
	port=$(sh "$SERVER_DIR/start.sh" "$d" "$clients" "$ttl") || return 1
	eval "PORT_$name=$port"
}

# tc_fault_server: start tests/oauth-server/fault.cjs; sets PORT_fault and
# PORT_fault_other.
tc_fault_server() {
	local d=$WORK/server-fault i
	mkdir -p "$d"
	node "$SERVER_DIR/fault.cjs" >"$d/out" 2>"$d/log" &
	echo $! >"$d/oauth.pid"
	for i in $(seq 1 100); do
		if [ -s "$d/out" ]; then
			PORT_fault=$(awk '{ print $2 }' "$d/out")
			PORT_fault_other=$(awk '{ print $3 }' "$d/out")
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# tc_fault_hits PATH_AND_QUERY: the request times (ms) the fault server saw
# for it, one a line.
tc_fault_hits() {
	node -e '
		const [port, key] = process.argv.slice(1);
		fetch(`http://127.0.0.1:${port}/_stats`).then((r) => r.json())
		.then((s) => { for (const t of s[key] || []) console.log(t); })
		.catch((e) => { console.error(e.message); process.exit(1); });
	' "$PORT_fault" "$1"
}

# tc_free_port: a TCP port free on 127.0.0.1 and ::1 now, on stdout (the
# kernel's choice for port 0; scenarios run in parallel, so never a fixed
# one).
tc_free_port() {
	node -e '
		const net = require("net");
		const s = net.createServer();
		s.listen(0, "127.0.0.1", () => {
			const p = s.address().port, t = net.createServer();
			t.on("error", () => { s.close(); process.exit(1); });
			t.listen(p, "::1", () => {
				console.log(p); t.close(); s.close();
			});
		});'
}

# tc_secret NAME VALUE: a secret file of mode 0600, path on stdout.
tc_secret() {
	local f=$WORK/secrets/$1
	(umask 077 && printf '%s\n' "$2" >"$f")
	printf '%s\n' "$f"
}

# tc_config [key = value ...]: the main configuration file.  As root the
# daemon drops to $DAEMON_USER (default tokencache).
tc_config() {
	local kv
	{
		echo "# written by tests/integration/lib.sh"
		echo "[daemon]"
		echo "runtime_dir = $WORK/run"
		echo "credentials_dir = $WORK/creds"
		echo "max_credentials = ${MAX_CREDENTIALS:-64}"
		[ -n "${DAEMON_USER:-}" ] && echo "user = $DAEMON_USER"
		for kv in "$@"; do printf '%s\n' "$kv"; done
	} >"$WORK/tokencache.conf"
}

# tc_system_user NAME: as root, make sure a system user exists, as the
# Debian package's postinst does for tokencache.
tc_system_user() {
	[ "$(id -u)" = 0 ] || return 0
	getent passwd "$1" >/dev/null && return 0
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin "$1"
}

# tc_worker_pid: the process that does the work (the monitor's child when
# the daemon runs as root, else the daemon itself).
tc_worker_pid() {
	local w
	w=$(pgrep -P "$DAEMON_PID" -x tokencached | head -n1)
	echo "${w:-$DAEMON_PID}"
}

# tc_cred NAME PORT CLIENT_ID SECRET_FILE [key = value ...]
# The endpoint is http://127.0.0.1:PORT/token, or PORT/PATH?QUERY when PORT
# carries a path.
tc_cred() {
	local name=$1 port=$2 id=$3 secret=$4 kv
	shift 4
	case $port in */*) ;; *) port=$port/token ;; esac
	{
		printf '[credential]\nprovider = oauth2\n'
		printf 'token_url = http://127.0.0.1:%s\n' "$port"
		printf 'client_id = %s\nclient_secret_file = %s\n' "$id" "$secret"
		for kv in "$@"; do printf '%s\n' "$kv"; done
	} >"$WORK/creds/$name.conf"
}

# tc_daemon_start: start tokencached in the foreground (logging to
# $WORK/daemon.log); sets DAEMON_PID.  $TC_DAEMON_WRAP, if set, is a
# command that execs the daemon in turn (prlimit --nofile=64:64 --).  Waits (up to about 10 s) until it
# answers a ping: it does so from its main loop, after its start-up log
# line.
tc_daemon_start() {
	local end=$((SECONDS + 10))
	rm -f "$WORK/run/socket"	# left by a daemon that was killed
	${TC_DAEMON_WRAP:-} "$DAEMON" -f -d -c "$WORK/tokencache.conf" \
	    >>"$WORK/daemon.log" 2>&1 &
	DAEMON_PID=$!
	while [ "$SECONDS" -le "$end" ]; do
		# check fails while a credential does: only "reachable" counts
		# (and set -e in the demo must not end it).
		if [ -S "$WORK/run/socket" ]; then
			timeout 3 "$CTL" --runtime-dir "$WORK/run" check --json \
			    >"$WORK/start-check" 2>&1 || true
			grep -q '"reachable": true' "$WORK/start-check" && return 0
		fi
		kill -0 "$DAEMON_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	echo "tokencached (pid $DAEMON_PID) does not answer after 10 s:" >&2
	cat "$WORK/start-check" >&2 2>/dev/null
	return 1
}

# tc_daemon_stop [SIGNAL]: stop it and wait; returns its exit status.
# SIGKILL goes to the worker first, so that it dies without cleaning up.
tc_daemon_stop() {
	local sig=${1:-TERM} st=0
	[ -n "${DAEMON_PID:-}" ] || return 0
	[ "$sig" = KILL ] && kill -KILL "$(tc_worker_pid)" 2>/dev/null
	kill "-$sig" "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" || st=$?
	DAEMON_PID=
	return $st
}

ctl() {
	"$CTL" --runtime-dir "$WORK/run" "$@"
}

# tc_stats PORT [CLIENT]: token requests the server received (for CLIENT).
tc_stats() {
	node -e '
		const [port, client] = process.argv.slice(1);
		fetch(`http://127.0.0.1:${port}/_stats`).then((r) => r.json())
		.then((s) => console.log(client ? (s.by_client[client] || 0)
		                                : s.token_requests))
		.catch((e) => { console.error(e.message); process.exit(1); });
	' "$@"
}

# tc_server_ctl PORT PATH: POST to a test control endpoint (/_reset ...).
tc_server_ctl() {
	node -e '
		const [port, path] = process.argv.slice(1);
		fetch(`http://127.0.0.1:${port}${path}`, { method: "POST" })
		.then((r) => process.exit(r.ok ? 0 : 1))
		.catch((e) => { console.error(e.message); process.exit(1); });
	' "$@"
}

# tc_verify PORT CLIENT_ID SECRET TOKEN_FILE: does the server accept it?
tc_verify() {
	node "$SERVER_DIR/verify.js" --port "$1" --client-id "$2" \
	    --client-secret "$3" --token-file "$4"
}

# tc_verify_lines PORT CLIENT_ID SECRET FILE: every distinct line of FILE
# a JWT the server signed?
tc_verify_lines() {
	node "$SERVER_DIR/verify.js" --port "$1" --client-id "$2" \
	    --client-secret "$3" --token-lines "$4"
}

# tc_json FILE EXPR: evaluate a JavaScript expression over the JSON in FILE
# (bound to `j`) and print the result.
tc_json() {
	node -e '
		const fs = require("fs");
		const j = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
		const v = eval(process.argv[2]);
		console.log(typeof v === "object" ? JSON.stringify(v) : String(v));
	' "$@"
}

tc_stop_all() {
	local f
	tc_daemon_stop TERM >/dev/null 2>&1 || true
	for f in "$WORK"/server-*/oauth.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	return 0
}

# ================================================================ scenarios
#
# The integration suite (run.sh and the area files it sources: fetch.sh,
# access.sh, ...) is made of scenarios, in the manner of OpenSSH's
# regress/*.sh over test-exec.sh.  Each area file registers its scenarios
#
#   tc_scenario FUNCTION "DESCRIPTION" [root] [serial] [faketime] [timens]
#                                      [plain]
#
# and FUNCTION, run in a subshell of its own, asks the fixtures below for
# what it needs (it_std, it_server, it_fault_server, tc_daemon_start ...)
# and gets it fresh: its own work directory ($WORK), OAuth servers and
# daemon, all stopped and removed when it ends, passed or failed
# (tc_scenario_cleanup).  No scenario sees another's state.
#
# Needs: root (creates or acts as the tc-it-* users, mounts), faketime
# (libfaketime), timens (a time namespace), plain (not in a sanitizer
# build); a scenario whose need is not met is skipped with the reason.
# serial: it uses something system-wide (the daemon user's count of file
# descriptors in flight), so it runs alone, after the others.
#
# tc_suite runs the registered scenarios, JOBS at a time (default: the
# number of CPUs), each one's output printed whole when it ends, then
#   integration: N passed, N failed, N skipped
# ONLY=REGEX runs only the scenarios whose function name matches; KEEP=1
# keeps every work directory (a failed scenario's is always kept).

TC_LIB=1
IT_USERS="tc-it-daemon tc-it-alice tc-it-bob tc-it-carol tc-it-dave tc-it-admin tc-it-h1 tc-it-h2 tc-it-h3 tc-it-h4"
# Every user but the daemon's and alice: the segment hoarders (harden.sh).
IT_HOARDERS="tc-it-bob tc-it-carol tc-it-dave tc-it-admin tc-it-h1 tc-it-h2 tc-it-h3 tc-it-h4"
IT_GROUPS="tc-it-readers tc-it-extra tc-it-admins"

TC_SCENARIOS=()
declare -A TC_DESC TC_NEEDS

tc_scenario() {	# FUNCTION DESCRIPTION [NEED...]
	local f=$1 d=$2
	shift 2
	TC_SCENARIOS+=("$f")
	TC_DESC[$f]=$d
	TC_NEEDS[$f]=" $* "
}

# ---------------------------------------------------------------- assertions

# Print what went wrong and fail the scenario function.
expect_eq() {
	[ "$1" = "$2" ] && return 0
	echo "$3: expected '$2', got '$1'"
	return 1
}
expect_ne() {
	[ "$1" != "$2" ] && return 0
	echo "$3: expected something other than '$2'"
	return 1
}
expect_grep() {
	grep -q -- "$1" "$2" && return 0
	echo "$3: '$1' not found in $2"
	return 1
}
# wait_for SECONDS COMMAND...: until COMMAND succeeds, tried every 0.1 s;
# 1 if it has not after SECONDS.
wait_for() {
	local i n=$(($1 * 10))
	shift
	for i in $(seq 1 "$n"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
# wait_registered NAME: a SIGHUP reload is asynchronous; wait (up to 5 s)
# until it has registered NAME.
wait_registered() {
	wait_for 5 ctl show "$1" >/dev/null 2>&1 && return 0
	echo "$1 was not registered by the reload"
	return 1
}
# wait_stats PORT N: up to 5 s for the server to have seen N requests.
wait_stats() {
	local i
	for i in $(seq 1 50); do
		[ "$(tc_stats "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
}
# wait_grep PATTERN FILE SECONDS: until PATTERN is in FILE.
wait_grep() {
	wait_for "$3" grep -qs -- "$1" "$2" && return 0
	echo "'$1' not in $2 after $3 s"
	return 1
}
# wait_first_token FILE...: until each background reader has printed its
# first token (up to 15 s each): only then does it hold its key, and may
# the scenario stop the daemon under it.  Name the files, not a glob: a
# reader just started may not have opened its file yet.
wait_first_token() {
	local f
	for f in "$@"; do
		wait_for 15 test -s "$f" || { echo "$f: no first token after 15 s"; return 1; }
	done
}
# wait_settled: up to 15 s until no credential is pending (each has been
# fetched once, or has failed), so that request counts stand still.
it_none_pending() {
	ctl list --json >"$WORK/settle.json" 2>/dev/null &&
	    [ "$(tc_json "$WORK/settle.json" 'j.some((c) => c.state == "pending")')" = false ]
}
wait_settled() {
	wait_for 15 it_none_pending && return 0
	echo "credentials still pending after 15 s"
	ctl list
	return 1
}

# Run a command as one of the tc-it-* users, with their groups.
as_user() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"
}
# as_user for a background job: exec'd, so that $! is the program itself
# and the clean-up's kill reaches it.
as_user_bg() {
	local u=$1
	shift
	exec setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"
}

# wait_json NAME EXPR SECONDS: until EXPR (over `ctl show NAME --json`)
# is true.  $FT is prepended, so that it runs under the same clock.
wait_json() {
	local i
	for i in $(seq 1 $(($3 * 10))); do
		$FT "$CTL" --runtime-dir "$WORK/run" show "$1" --json \
		    >"$WORK/wait.json" 2>/dev/null &&
		    [ "$(tc_json "$WORK/wait.json" "$2")" = true ] && return 0
		sleep 0.1
	done
	echo "not true after $3 s: $2"
	cat "$WORK/wait.json"
	return 1
}

# tc_readers_ok PREFIX N TOKEN_FILE...: the N readers PREFIX.1..N all
# exited 0 (none killed by a signal: that would be 128+), and every token
# they printed is one the server issued.
tc_readers_ok() {
	local prefix=$1 n=$2 i t st
	for i in $(seq 1 "$n"); do
		st=0
		wait "$(cat "$prefix.$i.pid")" || st=$?
		[ "$st" = 0 ] || { echo "reader $i: exit status $st"; cat "$prefix.$i.err"; return 1; }
		while read -r t; do
			printf '%s' "$t" >"$WORK/one.tok"
			tc_verify "$P" it-post "$POST_SECRET" "$WORK/one.tok" | grep -q valid ||
			    { echo "reader $i: a token the server does not know: $t"; return 1; }
		done <"$prefix.$i.out"
	done
}

# tc_readers_start PREFIX FROM TO SECONDS NAME: follow-mode readers.
tc_readers_start() {
	local prefix=$1 from=$2 to=$3 secs=$4 name=$5 i
	for i in $(seq "$from" "$to"); do
		"$B/tests/tc-reader" "$WORK/run" "$name" "$secs" >"$prefix.$i.out" 2>"$prefix.$i.err" &
		echo $! >"$prefix.$i.pid"
	done
}

# ---------------------------------------------------------------- fixtures

# The OAuth clients every scenario's servers know.
POST_SECRET='post-secret-0123456789'
# RFC 6749 §2.3.1: a secret with a space and characters that must be
# form-encoded before base64 for client_secret_basic.
BASIC_SECRET='basic sec:ret+%&=/?'
BAD_SECRET='not-the-right-secret'
RES_SECRET='res-secret-0123456789'
# The rate guard gets a scenario of its own; elsewhere it must not slow the
# suite down.  So does the minimum between explicit refreshes (sched.sh):
# here every `tokencachectl refresh` is a request.
FAST_RATE="endpoint_rate = 500"
FAST_BURST="endpoint_burst = 500"

it_clients() {	# the clients file of the scenario's servers
	[ -f "$WORK/clients.json" ] && return 0
	{
		echo "["
		local c
		for c in it-post it-fanout it-herd it-refresh; do
			printf ' {"client_id": "%s", "client_secret": "%s",\n' "$c" "$POST_SECRET"
			printf '  "token_endpoint_auth_method": "client_secret_post",\n'
			printf '  "grant_types": ["client_credentials"], "redirect_uris": [], "response_types": []},\n'
		done
		for c in it-res-a it-res-b; do
			printf ' {"client_id": "%s", "client_secret": "%s",\n' "$c" "$RES_SECRET"
			printf '  "token_endpoint_auth_method": "client_secret_post"},\n'
		done
		printf ' {"client_id": "it-basic", "client_secret": "%s",\n' "$BASIC_SECRET"
		printf '  "token_endpoint_auth_method": "client_secret_basic",\n'
		printf '  "grant_types": ["client_credentials"], "redirect_uris": [], "response_types": []}\n'
		echo "]"
	} >"$WORK/clients.json"
}

# it_server NAME TTL: an OAuth server of the scenario's own (tc_server);
# PORT_NAME set.
it_server() {
	it_clients
	tc_server "$1" "$WORK/clients.json" "$2" || { echo "no OAuth server ($1)"; return 1; }
}

# it_fault_server: the fault-injecting endpoint of the scenario's own; PF.
it_fault_server() {
	tc_fault_server || { echo "no fault server"; return 1; }
	PF=$PORT_fault
}

# it_std [short] [mid]: the standard scenario.  A server with 3600 s
# tokens (P), and, when asked for, one with 8 s tokens (PS) and one with
# 20 s tokens (PM), else short-lived and flaky use the first; the
# secret files; seven credentials; the daemon started with them.
it_std() {
	local w
	it_server main 3600 || return 1
	P=$PORT_main PS=$PORT_main PM=$PORT_main
	for w in "$@"; do
		case $w in
		short) it_server short 8 || return 1; PS=$PORT_short ;;
		mid) it_server mid 20 || return 1; PM=$PORT_mid ;;
		esac
	done
	post_sf=$(tc_secret post "$POST_SECRET")
	basic_sf=$(tc_secret basic "$BASIC_SECRET")
	bad_sf=$(tc_secret bad "$BAD_SECRET")
	tc_config "admin_group = tc-it-admins" "$FAST_RATE" "$FAST_BURST" \
	    "refresh_min_interval = 0"
	tc_cred acl "$P" it-post "$post_sf" "allow_users = tc-it-alice" \
	    "allow_groups = tc-it-readers tc-it-extra"
	tc_cred opaque-post "$P" it-post "$post_sf"
	tc_cred jwt-basic "$P" it-basic "$basic_sf" "auth_method = client_secret_basic" \
	    "resource = urn:tokencache:test-api"
	tc_cred jwt-audience "$P" it-post "$post_sf" "audience = urn:tokencache:zeebe"
	tc_cred short-lived "$PS" it-refresh "$post_sf"
	tc_cred flaky "$PM" it-refresh "$post_sf"
	tc_cred wrong-secret "$P" it-post "$bad_sf"
	tc_daemon_start || { cat "$WORK/daemon.log"; echo "the daemon did not start"; return 1; }
}

token_of() {	# NAME FILE: fetch (waiting up to 15 s) into FILE
	ctl token "$1" --wait 15 >"$2"
}

# it_tokens: the standard scenario's first three tokens in $WORK/t1..t3.
it_tokens() {
	token_of opaque-post "$WORK/t1" && token_of jwt-basic "$WORK/t2" &&
	    token_of jwt-audience "$WORK/t3"
}

# it_res_server long|short|mid: the resource scenarios' servers (3600,
# 10 and 40 s tokens); PORT_reslong, PORT_resshort, PORT_resmid.
it_res_server() {
	case $1 in
	long) it_server reslong 3600 ;;
	short) it_server resshort 10 ;;
	mid) it_server resmid 40 ;;
	esac
}

# ---------------------------------------------------------------- runner

# A sanitizer build (make check SANITIZE=...) reserves terabytes of shadow
# memory: no core dump of it is sensible, and LeakSanitizer cannot run
# under strace.
SANITIZED=0
ldd "$DAEMON" 2>/dev/null | grep -qE 'lib(asan|tsan|ubsan)' && SANITIZED=1
AS_ROOT=0
[ "$(id -u)" = 0 ] && AS_ROOT=1
FT_LIB=
for f in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
	[ -e "$f" ] && { FT_LIB=$f; break; }
done

# tc_scenario_skip FUNCTION: why it cannot run here, or nothing.
tc_scenario_skip() {
	local n=${TC_NEEDS[$1]}
	if [[ $n == *" root "* ]] && [ "$AS_ROOT" != 1 ]; then
		echo "needs root to create users and groups, mount a tmpfs or change another user's limits"
	elif [[ $n == *" plain "* ]] && [ "$SANITIZED" = 1 ]; then
		echo "a sanitizer build: its shadow memory makes a core of terabytes; the plain build runs this scenario"
	elif [[ $n == *" faketime "* ]] && [ -z "$FT_LIB" ]; then
		echo "libfaketime not installed: tests/deps.sh installs faketime"
	elif [[ $n == *" timens "* ]] && ! unshare --time --boottime 1 true 2>/dev/null; then
		echo "no time namespace here: needs root, Linux 5.6 and unshare --time from util-linux 2.36 or later"
	fi
}

# As root: real users and groups for the access-control matrix, and a
# daemon user to drop to; made once per suite run, removed at its end.
tc_users_add() {
	local g u
	[ "$AS_ROOT" = 1 ] || return 0
	for g in $IT_GROUPS; do groupadd -f "$g"; done
	for u in $IT_USERS; do userdel "$u" 2>/dev/null; done
	useradd --system --no-create-home --shell /usr/sbin/nologin tc-it-daemon
	useradd --no-create-home --shell /bin/sh tc-it-alice
	useradd --no-create-home --shell /bin/sh -g tc-it-readers tc-it-bob
	useradd --no-create-home --shell /bin/sh -G tc-it-extra tc-it-carol
	useradd --no-create-home --shell /bin/sh tc-it-dave
	useradd --no-create-home --shell /bin/sh -G tc-it-admins tc-it-admin
	for u in tc-it-h1 tc-it-h2 tc-it-h3 tc-it-h4; do
		useradd --no-create-home --shell /bin/sh "$u"
	done
}
tc_users_del() {
	local u
	[ "$AS_ROOT" = 1 ] || return 0
	for u in $IT_USERS; do userdel "$u" 2>/dev/null; done
	for u in $IT_GROUPS; do groupdel "$u" 2>/dev/null; done
}

# tc_sanitizer_report FILE: print the sanitizer reports in FILE; 0 if any.
tc_sanitizer_report() {
	grep -E "AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:" "$1" 2>/dev/null
}

# In the scenario's subshell: stop its daemon, the helpers it started
# (pids in RES_PIDS, and any background job left), its servers; unmount
# what it mounted (RES_MOUNTS); fail it if its daemon's log has a
# sanitizer report; remove its work directory unless it failed or KEEP=1.
tc_scenario_cleanup() {
	local p m
	for p in $RES_PIDS $(jobs -p); do kill "$p" 2>/dev/null; done
	for p in $RES_PIDS $(jobs -p); do wait "$p" 2>/dev/null; done
	tc_stop_all
	for m in $RES_MOUNTS; do umount "$m" || { echo "cannot unmount $m"; TC_ST=1; }; done
	if tc_sanitizer_report "$WORK/daemon.log"; then
		echo "a sanitizer report in the daemon's log"
		TC_ST=1
	fi
	if [ "${KEEP:-0}" = 1 ] || [ "$TC_ST" != 0 ]; then
		echo "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}

# tc_scenario_run FUNCTION: run it in this (sub)shell with a fresh work
# directory under $TC_RUNDIR; exits with its status.
tc_scenario_run() {
	local func=$1
	TC_ST=1
	WORK=$TC_RUNDIR/$func
	mkdir -p "$WORK/creds" "$WORK/secrets" "$WORK/run"
	chmod 0755 "$WORK" "$WORK/run"
	chmod 0700 "$WORK/secrets"
	DAEMON_PID= RES_PIDS= RES_MOUNTS= FT=
	[ "$AS_ROOT" = 1 ] && DAEMON_USER=tc-it-daemon
	trap 'tc_scenario_cleanup; exit $TC_ST' EXIT
	trap 'exit 130' INT TERM
	"$func" && TC_ST=0 || TC_ST=$?
	exit "$TC_ST"
}

# tc_scenario_report FUNCTION STATUS SECONDS: print its result and output.
tc_scenario_report() {
	local f=$1
	if [ "$2" = 0 ]; then
		TC_PASS=$((TC_PASS + 1))
		echo "ok   - ${TC_DESC[$f]} ($3 s)"
		[ "${VERBOSE:-0}" = 1 ] && sed 's/^/       /' "$TC_RUNDIR/$f.out"
	else
		TC_FAIL=$((TC_FAIL + 1))
		echo "FAIL - ${TC_DESC[$f]} ($3 s) [$f]"
		sed 's/^/       /' "$TC_RUNDIR/$f.out"
	fi
}

tc_suite_finish() {
	local p
	for p in "${!TC_RUNNING[@]}"; do kill -TERM "$p" 2>/dev/null; done
	wait
	tc_users_del
	if [ "${KEEP:-0}" = 1 ] || [ "$TC_FAIL" -gt 0 ]; then
		echo "work directories kept in: $TC_RUNDIR"
	else
		rm -rf "$TC_RUNDIR"
	fi
}

# tc_suite_start FUNCTION: start the scenario in the background.
tc_suite_start() {
	TC_T0[$1]=$SECONDS
	(tc_scenario_run "$1") >"$TC_RUNDIR/$1.out" 2>&1 </dev/null &
	TC_RUNNING[$!]=$1
}

# tc_suite_reap: wait for a scenario to end; report it.
tc_suite_reap() {
	local p f st=0
	wait -n -p p || st=$?
	[ -n "$p" ] || return 0
	f=${TC_RUNNING[$p]}
	unset "TC_RUNNING[$p]"
	tc_scenario_report "$f" "$st" $((SECONDS - TC_T0[$f]))
}

# tc_suite: run the registered scenarios (those ONLY matches), JOBS at a
# time, then the serial ones alone; print the summary; 0 if none failed.
tc_suite() {
	local f why serial=() run=()
	set -u
	declare -gA TC_RUNNING=() TC_T0=()
	TC_PASS=0 TC_FAIL=0 TC_SKIP=0
	# A strict umask: the modes of the runtime files must not depend on it.
	umask 077
	for f in "${TC_SCENARIOS[@]}"; do
		if [ -n "${ONLY:-}" ] && ! [[ $f =~ $ONLY ]]; then
			continue
		fi
		why=$(tc_scenario_skip "$f")
		if [ -n "$why" ]; then
			TC_SKIP=$((TC_SKIP + 1))
			echo "skip - ${TC_DESC[$f]} ($why)"
		elif [[ ${TC_NEEDS[$f]} == *" serial "* ]]; then
			serial+=("$f")
		else
			run+=("$f")
		fi
	done
	TC_RUNDIR=$(mktemp -d "${TMPDIR:-/tmp}/tokencache.XXXXXX")
	chmod 0755 "$TC_RUNDIR"
	trap tc_suite_finish EXIT
	trap 'exit 130' INT TERM
	tc_users_add
	# The library trusts a control socket served by root, its own user or
	# the daemon's user (tokencache(3)): name the scenarios' one.
	[ "$AS_ROOT" = 1 ] && export TOKENCACHE_DAEMON_USER=tc-it-daemon
	JOBS=${JOBS:-$(nproc 2>/dev/null || echo 1)}
	for f in "${run[@]}"; do
		while [ "${#TC_RUNNING[@]}" -ge "$JOBS" ]; do tc_suite_reap; done
		tc_suite_start "$f"
	done
	while [ "${#TC_RUNNING[@]}" -gt 0 ]; do tc_suite_reap; done
	for f in "${serial[@]}"; do
		tc_suite_start "$f"
		tc_suite_reap
	done
	echo
	echo "integration: $TC_PASS passed, $TC_FAIL failed, $TC_SKIP skipped"
	[ "$TC_FAIL" -eq 0 ]
}

# An area file run on its own (bash tests/integration/access.sh) runs its
# own scenarios: it ends with
#   tc_main_if_run "${BASH_SOURCE[0]}" "$0"
tc_main_if_run() {
	[ "$1" = "$2" ] || return 0
	tc_suite
	exit
}
