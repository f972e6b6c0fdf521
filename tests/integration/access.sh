#!/usr/bin/env bash
# access.sh - who may read what: the access matrix, revocation,
# admin commands, secret files, the daemon user, the socket under fuzzing
# and floods, no secret in /proc, a core, a runtime file or the log.
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/access.sh
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

t_privileges_dropped() {
	it_std || return 1
	local w uid
	w=$(tc_worker_pid)
	uid=$(id -u tc-it-daemon)
	[ "$w" != "$DAEMON_PID" ] || { echo "no separate worker process"; return 1; }
	expect_eq "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' /proc/$w/status)" \
	    "$uid $uid $uid $uid" "worker uids" || return 1
	expect_eq "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' /proc/$w/status)" \
	    "$(id -g tc-it-daemon) $(id -g tc-it-daemon) $(id -g tc-it-daemon) $(id -g tc-it-daemon)" \
	    "worker gids" || return 1
	expect_eq "$(awk '/^Groups:/ { print $2 }' /proc/$w/status)" "" "supplementary groups" || return 1
	expect_eq "$(awk '/^NoNewPrivs:/ { print $2 }' /proc/$w/status)" 1 "no_new_privs" || return 1
	expect_eq "$(awk '/^Uid:/ { print $2 }' /proc/$DAEMON_PID/status)" 0 "monitor uid" || return 1
	expect_eq "$(stat -c %U "$WORK/run")" tc-it-daemon "runtime dir owner" || return 1
	expect_eq "$(stat -c %U "$WORK/run/cache")" tc-it-daemon "cache owner" || return 1
	expect_eq "$(stat -c %U "$WORK/run/master.key")" tc-it-daemon "master key owner" || return 1
	grep -q "running as tc-it-daemon" "$WORK/daemon.log" || { echo "log"; return 1; }
}

tc_scenario t_privileges_dropped "the worker runs as the daemon user, no groups, no_new_privs" root

t_proc_not_readable() {
	it_std || return 1
	local p
	for p in "$(tc_worker_pid)" "$DAEMON_PID"; do
		as_user tc-it-dave cat "/proc/$p/environ" >/dev/null 2>&1 &&
		    { echo "/proc/$p/environ readable by another user"; return 1; }
		as_user tc-it-dave head -c 16 "/proc/$p/mem" >/dev/null 2>&1 &&
		    { echo "/proc/$p/mem readable by another user"; return 1; }
		grep -qF -- "$POST_SECRET" "/proc/$p/cmdline" && { echo "secret in cmdline"; return 1; }
		grep -qF -- "$POST_SECRET" "/proc/$p/environ" && { echo "secret in environ"; return 1; }
	done
	return 0
}

tc_scenario t_proc_not_readable "/proc/<daemon>/{environ,mem} unreadable by others; no secret in cmdline" root

# who reads `acl`: alice by name, bob by primary group, carol by a
# supplementary group, root; not dave.
t_access_matrix() {
	it_std || return 1
	local want u out
	want=$(ctl token acl --wait 15) || return 1
	for u in tc-it-alice tc-it-bob tc-it-carol; do
		out=$(as_user "$u" "$CTL" --runtime-dir "$WORK/run" token acl) ||
		    { echo "$u was denied"; return 1; }
		expect_eq "$out" "$want" "token read by $u" || return 1
	done
	out=$(as_user tc-it-dave "$CTL" --runtime-dir "$WORK/run" token acl 2>&1) &&
	    { echo "tc-it-dave read the token"; return 1; }
	printf '%s' "$out" | grep -q "permission denied" ||
	    { echo "dave's error does not say permission denied: $out"; return 1; }
	printf '%s' "$out" | grep -qF -- "$want" && { echo "token in the error"; return 1; }
	out=$(as_user tc-it-dave "$CTL" --runtime-dir "$WORK/run" token opaque-post 2>&1) &&
	    { echo "dave read a credential with no allow lists"; return 1; }
	# Everyone may list names and states, never tokens.
	as_user tc-it-dave "$CTL" --runtime-dir "$WORK/run" list >"$WORK/dave-list" || return 1
	grep -qF -- "$want" "$WORK/dave-list" && { echo "token in list"; return 1; }
	return 0
}

tc_scenario t_access_matrix "access matrix: user, primary group, supplementary group, root; others denied" root

# Remove alice (SIGHUP): her running process, which holds the key, can no
# longer read the token; bob and carol still can; then give it back.
t_revoke_on_reload() {
	it_std || return 1
	ctl token acl --wait 15 >/dev/null || return 1
	local rpid conf=$WORK/creds/acl.conf out
	as_user tc-it-alice "$B/tests/tc-reader" "$WORK/run" acl 4 watch \
	    >"$WORK/alice-watch" 2>&1 &
	rpid=$!
	wait_grep '^ok ' "$WORK/alice-watch" 15 || return 1
	cp "$conf" "$WORK/acl.conf.saved"
	sed -i 's/^allow_users = .*/allow_users = nobody/' "$conf"
	kill -HUP "$DAEMON_PID"
	wait "$rpid"
	grep -q '^ok ' "$WORK/alice-watch" || { cat "$WORK/alice-watch"; echo "alice never read it"; return 1; }
	tail -n1 "$WORK/alice-watch" | grep -q "error permission denied" ||
	    { cat "$WORK/alice-watch"; echo "alice's process still reads after revocation"; return 1; }
	as_user tc-it-alice "$CTL" --runtime-dir "$WORK/run" token acl >/dev/null 2>&1 &&
	    { echo "a new process of alice reads"; return 1; }
	out=$(as_user tc-it-bob "$CTL" --runtime-dir "$WORK/run" token acl) ||
	    { echo "bob lost access"; return 1; }
	expect_grep "keys rotated" "$WORK/daemon.log" "log" || return 1
	cp "$WORK/acl.conf.saved" "$conf"
	kill -HUP "$DAEMON_PID"
	# The reload is asynchronous: she is let in once it is done.
	wait_for 5 as_user tc-it-alice "$CTL" --runtime-dir "$WORK/run" token acl \
	    >/dev/null 2>&1 || { echo "alice not readmitted after 5 s"; return 1; }
}

tc_scenario t_revoke_on_reload "access removed on SIGHUP: a running reader loses it, others keep it" root

t_rotate_keys() {
	it_std || return 1
	it_tokens || return 1
	ctl token acl --wait 15 >/dev/null || return 1
	local tok before after epoch0 epoch1 out
	tok=$(ctl token acl) || return 1
	before=$(md5sum <"$WORK/run/cache")
	out=$(as_user tc-it-dave "$CTL" --runtime-dir "$WORK/run" rotate-keys 2>&1) &&
	    { echo "dave rotated keys"; return 1; }
	printf '%s' "$out" | grep -q "permission denied" || { echo "$out"; return 1; }
	as_user tc-it-admin "$CTL" --runtime-dir "$WORK/run" rotate-keys >"$WORK/rot" ||
	    { echo "admin_group member could not rotate"; return 1; }
	grep -q "keys rotated, epoch" "$WORK/rot" || return 1
	after=$(md5sum <"$WORK/run/cache")
	expect_ne "$after" "$before" "segment after rotation" || return 1
	# Same tokens, new keys: readers ask again and get them.
	expect_eq "$(as_user tc-it-carol "$CTL" --runtime-dir "$WORK/run" token acl)" "$tok" \
	    "token after rotation" || return 1
	expect_eq "$(ctl token opaque-post)" "$(cat "$WORK/t1")" "other token after rotation" || return 1
}

tc_scenario t_rotate_keys "rotate-keys: admin_group only; readers pick up new keys" root

t_admin_commands() {
	it_std || return 1
	ctl token acl --wait 15 >/dev/null || return 1
	local tok out
	out=$(as_user tc-it-dave "$CTL" --runtime-dir "$WORK/run" reload 2>&1) &&
	    { echo "dave reloaded"; return 1; }
	printf '%s' "$out" | grep -q "permission denied" || { echo "$out"; return 1; }
	as_user tc-it-admin "$CTL" --runtime-dir "$WORK/run" reload | grep -q "configuration reloaded" ||
	    { echo "admin could not reload"; return 1; }
	out=$(as_user tc-it-dave "$CTL" --runtime-dir "$WORK/run" invalidate acl 2>&1) &&
	    { echo "dave invalidated"; return 1; }
	tok=$(ctl token acl) || return 1
	ctl invalidate acl | grep -q "invalidated" || return 1
	out=$(ctl token acl --wait 15) || return 1
	expect_ne "$out" "$tok" "token after invalidate" || return 1
}

tc_scenario t_admin_commands "reload and invalidate need root or admin_group" root

t_secret_file_owner_refused() {
	it_std || return 1
	local f=$WORK/secrets/alice-owned
	(umask 077 && printf '%s\n' "$POST_SECRET" >"$f")
	chown tc-it-alice "$f"
	tc_cred alice-owned "$P" it-post "$f"
	ctl reload >"$WORK/reload.out" 2>&1 && { echo "reload accepted it"; return 1; }
	grep -q "alice-owned" "$WORK/reload.out" || { cat "$WORK/reload.out"; return 1; }
	rm -f "$WORK/creds/alice-owned.conf"
	chmod 0644 "$f"; chown root "$f"
	tc_cred world-readable "$P" it-post "$f"
	ctl reload >"$WORK/reload.out" 2>&1 && { echo "reload accepted a 0644 secret"; return 1; }
	grep -q "world-readable\|group- or world\|mode" "$WORK/reload.out" ||
	    { cat "$WORK/reload.out"; return 1; }
	rm -f "$WORK/creds/world-readable.conf"
	ctl reload >/dev/null || return 1
}

tc_scenario t_secret_file_owner_refused "secret files owned by another user or world-readable are refused" root

t_socket_fuzz() {
	it_std || return 1
	it_tokens || return 1
	ctl token acl --wait 15 >/dev/null || return 1
	local tok
	as_user tc-it-dave "$B/tests/tc-sockfuzz" fuzz "$WORK/run" acl 600 >"$WORK/fuzz.out" ||
	    { cat "$WORK/fuzz.out"; return 1; }
	cat "$WORK/fuzz.out"
	kill -0 "$(tc_worker_pid)" || { echo "daemon died"; return 1; }
	ctl check >/dev/null 2>&1 || ctl list >/dev/null || return 1
	tok=$(ctl token opaque-post) || { echo "no token after fuzzing"; return 1; }
}

tc_scenario t_socket_fuzz "socket fuzzing by an unprivileged peer: no crash, no key" root

t_rate_limit_and_conn_cap() {
	it_std || return 1
	local n
	as_user tc-it-dave "$B/tests/tc-sockfuzz" flood "$WORK/run" 1000 >"$WORK/flood.out" || return 1
	cat "$WORK/flood.out"
	n=$(sed -n 's/.* \([0-9]*\) rate limited/\1/p' "$WORK/flood.out")
	[ "${n:-0}" -gt 0 ] || { echo "1000 pings were never rate limited"; return 1; }
	"$B/tests/tc-sockfuzz" flood "$WORK/run" 1000 >"$WORK/flood-root.out" || return 1
	grep -q " 0 rate limited" "$WORK/flood-root.out" || { echo "root was rate limited"; return 1; }
	sleep 2	# let dave's bucket fill again
	as_user tc-it-dave "$B/tests/tc-sockfuzz" conns "$WORK/run" 40 >"$WORK/conns.out" || return 1
	cat "$WORK/conns.out"
	n=$(sed -n 's/conns: \([0-9]*\) of.*/\1/p' "$WORK/conns.out")
	[ "${n:-0}" -ge 1 ] && [ "${n:-0}" -le 16 ] || { echo "served $n of 40 connections"; return 1; }
}

tc_scenario t_rate_limit_and_conn_cap "per-user rate limit and connection cap; root not limited" root

# 140 connections that never speak, more than the daemon's table holds: a
# client that does speak is answered by closing silent ones that have had
# 200 ms, well before their 2 s deadline (the PING goes 500 ms after them;
# its answer takes about 5 ms, 450 without the wake at 200 ms, which this
# bound does not tell apart), and the daemon does not spin while the rest
# wait for that deadline.
t_silent_connections_evicted() {
	it_std || return 1
	"$B/tests/tc-sockfuzz" silent "$WORK/run" 140 1800 "$(tc_worker_pid)"
}

tc_scenario t_silent_connections_evicted "140 silent connections do not keep a speaking client waiting"

# The worker and the monitor, dumped with gcore: no token, no secret.
t_no_secrets_in_core() {
	it_std || return 1
	it_tokens || return 1
	local p t s c n=0
	command -v gcore >/dev/null || { echo "gcore not installed (tests/deps.sh installs gdb)"; return 1; }
	ctl refresh jwt-basic >/dev/null || return 1
	ctl token jwt-basic >"$WORK/tcore" || return 1
	# Right after a reload, the monitor has just read and packed every
	# secret, and the worker unpacked them.
	ctl reload >/dev/null || return 1
	for p in "$(tc_worker_pid)" "$DAEMON_PID"; do
		# Never write a core of an odd giant (a sanitizer build).
		[ "$(awk '/^VmSize:/ { print $2 }' /proc/$p/status)" -lt 4194304 ] ||
		    { echo "process $p maps more than 4 GiB: no core taken"; return 1; }
		gcore -o "$WORK/core" "$p" >/dev/null 2>&1 || { echo "gcore $p failed"; return 1; }
		c=$WORK/core.$p
		[ -s "$c" ] || { echo "no core for $p"; return 1; }
		n=$((n + 1))
		for t in "$WORK/t1" "$WORK/t2b" "$WORK/t3" "$WORK/tcore"; do
			[ -f "$t" ] || continue
			if grep -qF -- "$(cat "$t")" "$c"; then echo "token $t in core of $p"; return 1; fi
		done
		for s in "$POST_SECRET" "$BASIC_SECRET" "$BAD_SECRET"; do
			if grep -qF -- "$s" "$c"; then echo "a secret in the core of $p"; return 1; fi
		done
		# The Basic header form of the secret, too.
		if grep -qF -- "$(printf 'it-basic:basic+sec%%3Aret%%2B%%25%%26%%3D%%2F%%3F' | base64 -w0)" "$c"; then
			echo "Basic credentials in the core of $p"; return 1
		fi
		rm -f "$c"
	done
	expect_eq "$n" 2 "cores examined" || return 1
}

tc_scenario t_no_secrets_in_core "no token or secret in a core of the worker or the monitor" root plain

t_modes() {
	it_std || return 1
	token_of opaque-post "$WORK/t1" || return 1
	expect_eq "$(stat -c %a "$WORK/run")" 755 "runtime dir" || return 1
	expect_eq "$(stat -c %a "$WORK/run/cache")" 644 "segment" || return 1
	expect_eq "$(stat -c %a "$WORK/run/socket")" 666 "socket" || return 1
	expect_eq "$(stat -c %a "$WORK/run/master.key")" 600 "master key" || return 1
}

tc_scenario t_modes "runtime directory modes"

t_no_plaintext_anywhere() {
	it_std || return 1
	it_tokens || return 1
	ctl refresh jwt-basic >/dev/null || return 1
	ctl reload >/dev/null || return 1
	wait_settled || return 1
	local f t
	for t in "$WORK/t1" "$WORK/t2" "$WORK/t3"; do
		for f in "$WORK"/run/* "$WORK/daemon.log"; do
			[ -f "$f" ] || continue
			if grep -qF -- "$(cat "$t")" "$f"; then
				echo "token from $t found in $f"
				return 1
			fi
		done
	done
	for s in "$POST_SECRET" "$BASIC_SECRET" "$BAD_SECRET"; do
		for f in "$WORK"/run/* "$WORK/daemon.log"; do
			[ -f "$f" ] || continue
			grep -qF -- "$s" "$f" && { echo "secret found in $f"; return 1; }
		done
	done
	return 0
}

tc_scenario t_no_plaintext_anywhere "no token or secret in plaintext in runtime files or logs"

tc_main_if_run "${BASH_SOURCE[0]}" "$0"
