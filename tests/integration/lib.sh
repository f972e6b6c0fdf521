# lib.sh - shared by the integration tests, the demo and the benchmark:
# start a real OAuth server (oidc-provider) and tokencached in a private
# directory, talk to them, stop them.  Everything listens on 127.0.0.1.
#
# Source it from bash with TOP set to the repository root.

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
