#!/usr/bin/env bash
# privsep.sh - the root monitor and the runtime directory: signals
# without CAP_KILL, runtime files root owns, a runtime_dir another user
# could change, configuration errors exit 78, the monitor notifying the
# service manager for the worker.
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/privsep.sh
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ps_conf [key = value ...]: the private daemon's files, one credential
# (it-res-a on the long-lived server) named ps-a.
ps_conf() {
	local sf
	sf=$(tc_secret ps "$RES_SECRET")
	tc_config "$@"
	tc_cred ps-a "$PORT_reslong" it-res-a "$sf"
}

# stat_tree DIR: owner, group, mode and name of everything below DIR.
stat_tree() {
	find "$1" -exec stat -c '%U %G %a %n' {} + | sort
}

ps_kill() {
	kill -KILL "$(tc_worker_pid)" 2>/dev/null
	tc_daemon_stop TERM >/dev/null 2>&1
}

# A monitor without CAP_KILL, as under the systemd unit's
# CapabilityBoundingSet, may not kill(2) the worker, which runs as another
# user: SIGHUP and SIGTERM must reach it all the same.
t_ps_no_cap_kill() {
	it_res_server long || return 1
	local DAEMON=$WORK/tokencached-nokill st=0 end
	printf '#!/bin/sh\nexec setpriv --bounding-set=-kill %s "$@"\n' \
	    "$B/tokencached" >"$DAEMON"
	chmod 0755 "$DAEMON"
	ps_conf
	tc_daemon_start || return 1
	[ $(( 0x$(awk '/^CapEff:/ { print $2 }' "/proc/$DAEMON_PID/status") >> 5 & 1 )) = 0 ] ||
	    { echo "the monitor still has CAP_KILL"; return 1; }
	# On failure, the worker may not hear SIGTERM either: kill it, and
	# the monitor exits with it.
	ctl token ps-a --wait 15 >/dev/null || { ps_kill; return 1; }
	tc_cred ps-b "$PORT_reslong" it-res-b "$WORK/secrets/ps"
	kill -HUP "$DAEMON_PID"
	wait_registered ps-b || { cat "$WORK/daemon.log"; ps_kill; return 1; }
	expect_grep "configuration reloaded: 2 credentials" "$WORK/daemon.log" "log" ||
	    { ps_kill; return 1; }
	# SIGTERM to the monitor: the worker exits, then the monitor, 0.
	kill -TERM "$DAEMON_PID"
	end=$((SECONDS + 10))
	while kill -0 "$DAEMON_PID" 2>/dev/null && [ $SECONDS -le $end ]; do
		sleep 0.1
	done
	kill -0 "$DAEMON_PID" 2>/dev/null &&
	    { echo "still running 10 s after SIGTERM"; ps_kill; return 1; }
	wait "$DAEMON_PID" || st=$?
	DAEMON_PID=
	expect_eq "$st" 0 "exit status after SIGTERM" || return 1
}

tc_scenario t_ps_no_cap_kill "SIGHUP and SIGTERM reach the worker from a monitor without CAP_KILL" root

# systemd gives everything in a preserved RuntimeDirectory= to the unit's
# user (root) at each start.  The next daemon must still adopt the cache:
# same token, no request.
t_ps_root_owned_adopted() {
	it_res_server long || return 1
	local tok before
	ps_conf
	tc_daemon_start || return 1
	tok=$(ctl token ps-a --wait 15) || return 1
	tc_daemon_stop TERM || return 1
	before=$(tc_stats "$PORT_reslong" it-res-a)
	chown -R root:root "$WORK/run"
	tc_daemon_start || return 1
	expect_grep "adopted the existing cache" "$WORK/daemon.log" "log" || return 1
	expect_eq "$(ctl token ps-a)" "$tok" "token after the restart" || return 1
	expect_eq "$(tc_stats "$PORT_reslong" it-res-a)" "$before" "requests after the restart" || return 1
	expect_eq "$(stat -c %U "$WORK/run/master.key")" "$DAEMON_USER" "master.key owner" || return 1
	# A hard link is never given away (it may be a file from elsewhere).
	tc_daemon_stop TERM || return 1
	rm -f "$WORK/run/cache"
	ln "$WORK/secrets/ps" "$WORK/run/cache"
	tc_daemon_start || return 1
	expect_eq "$(stat -c '%U %a' "$WORK/secrets/ps")" "root 600" "the linked file" || return 1
}

tc_scenario t_ps_root_owned_adopted "runtime files root owns (systemd's chown at start) are adopted on restart; a hard link is not" root

# ps_start_refused LOG WHAT MESSAGE: tokencached on $WORK/tokencache.conf
# exits 78 (a configuration error) with MESSAGE in $WORK/LOG.  timeout: a
# daemon that took the configuration would run.
ps_start_refused() {
	local st=0
	timeout 20 "$B/tokencached" -f -c "$WORK/tokencache.conf" >"$WORK/$1" 2>&1 || st=$?
	expect_eq "$st" 78 "exit status ($2)" || { cat "$WORK/$1"; return 1; }
	expect_grep "$3" "$WORK/$1" "message"
}

# A runtime_dir below a directory another user can change: that user could
# swap a symbolic link in, and the root monitor would hand whatever it
# points to to the daemon's user.  Refused, with the directory named, and
# nothing outside changes owner or mode.
t_ps_runtime_path_refused() {
	it_res_server long || return 1
	local base=$WORK/paths before
	mkdir -p "$base/victim/rt" "$base/sticky/rootdir"
	chmod 0755 "$base"
	chmod 0700 "$base/victim" "$base/victim/rt"
	(umask 077 && echo private >"$base/victim/rt/master.key")
	chmod 1777 "$base/sticky"
	chmod 0755 "$base/sticky/rootdir"
	install -d -o tc-it-dave -m 0755 "$base/dave"
	before=$(stat_tree "$base/victim")

	# 1. An ancestor is a symbolic link planted in dave's directory.
	as_user tc-it-dave ln -s "$base/victim" "$base/dave/x" || return 1
	ps_conf
	sed -i "s|^runtime_dir = .*|runtime_dir = $base/dave/x/rt|" "$WORK/tokencache.conf"
	ps_start_refused start1.log "dave's directory" "$base/dave belongs to uid $(id -u tc-it-dave); only root may own" || return 1
	expect_eq "$(stat_tree "$base/victim")" "$before" "the victim directory" || return 1

	# 2. A middle component, in a sticky directory, a symbolic link of
	# dave's to a directory of root's: every check above holds for what
	# it points to, so only opening each component without following a
	# link (O_NOFOLLOW) refuses it.
	as_user tc-it-dave ln -s "$base/victim" "$base/sticky/lnk" || return 1
	sed -i "s|^runtime_dir = .*|runtime_dir = $base/sticky/lnk/rt|" "$WORK/tokencache.conf"
	ps_start_refused start2l.log "a link in the middle" "$base/sticky/lnk is a symbolic link" || return 1
	expect_eq "$(stat_tree "$base/victim")" "$before" "the victim directory" || return 1

	# 2b. The last component, in a sticky directory, a symbolic link of
	# dave's.
	as_user tc-it-dave ln -s "$base/victim/rt" "$base/sticky/rt" || return 1
	sed -i "s|^runtime_dir = .*|runtime_dir = $base/sticky/rt|" "$WORK/tokencache.conf"
	ps_start_refused start2.log "symbolic link" "$base/sticky/rt is a symbolic link" || return 1
	expect_eq "$(stat_tree "$base/victim")" "$before" "the victim directory" || return 1

	# 3. A directory of dave's in a sticky directory: he could rename
	# or replace what is in it.
	as_user tc-it-dave mkdir "$base/sticky/dd" || return 1
	sed -i "s|^runtime_dir = .*|runtime_dir = $base/sticky/dd/rt|" "$WORK/tokencache.conf"
	ps_start_refused start3.log "dave's directory in a sticky one" "$base/sticky is writable by others (mode 1777), who could replace $base/sticky/dd" || return 1
	[ ! -e "$base/sticky/dd/rt" ] || { echo "created $base/sticky/dd/rt"; return 1; }

	# 4. A group-writable ancestor, sticky or not, owned by root.
	chmod 0775 "$base/victim"
	sed -i "s|^runtime_dir = .*|runtime_dir = $base/victim/rt|" "$WORK/tokencache.conf"
	ps_start_refused start4.log "group-writable parent" "$base/victim is writable by others (mode 0775)" || return 1
	chmod 0700 "$base/victim"
	expect_eq "$(stat_tree "$base/victim")" "$before" "the victim directory" || return 1

	# 5. Root's directory in a sticky one (as mktemp -d in /tmp makes):
	# fine, and the runtime directory is made the daemon user's.
	sed -i "s|^runtime_dir = .*|runtime_dir = $base/sticky/rootdir/rt|" "$WORK/tokencache.conf"
	local WORKRUN=$base/sticky/rootdir/rt
	"$B/tokencached" -f -c "$WORK/tokencache.conf" >>"$WORK/daemon.log" 2>&1 &
	DAEMON_PID=$!
	wait_for 10 "$CTL" --runtime-dir "$WORKRUN" token ps-a --wait 5 >/dev/null ||
	    { cat "$WORK/daemon.log"; return 1; }
	expect_eq "$(stat -c '%U %a' "$WORKRUN")" "$DAEMON_USER 755" "runtime directory" || return 1
}

tc_scenario t_ps_runtime_path_refused "a runtime_dir another user could change is refused (status 78); nothing outside changes" root

# systemd stops a unit with SIGTERM to every process in it: the worker may
# be gone when the monitor passes its SIGTERM on.  Made certain here: the
# monitor stopped, the worker killed, then SIGTERM (read before SIGCHLD,
# its lower number).  The monitor leaves with the worker's status and
# logs no error about the closed pipe.
t_ps_sigterm_worker_gone() {
	it_res_server long || return 1
	local w st=0 i
	ps_conf
	tc_daemon_start || return 1
	w=$(tc_worker_pid)
	[ "$w" != "$DAEMON_PID" ] || { echo "no separate worker"; return 1; }
	kill -STOP "$DAEMON_PID"
	kill -KILL "$w"
	for i in $(seq 1 100); do
		[ "$(awk '{ print $3 }' "/proc/$w/stat" 2>/dev/null)" = Z ] && break
		sleep 0.1
	done
	kill -TERM "$DAEMON_PID"
	kill -CONT "$DAEMON_PID"
	wait "$DAEMON_PID" || st=$?
	DAEMON_PID=
	expect_eq "$st" 137 "the monitor's exit status (the worker's SIGKILL)" || return 1
	if grep -q "cannot pass" "$WORK/daemon.log"; then
		echo "logged:"; grep "cannot pass" "$WORK/daemon.log"; return 1
	fi
}

tc_scenario t_ps_sigterm_worker_gone "the worker gone when the monitor passes SIGTERM on: no error logged" root

# A configuration error is not retried by systemd: a distinct status.
t_ps_config_exit_status() {
	it_res_server long || return 1
	local st=0
	DAEMON_USER=tc-it-nosuchuser ps_conf
	ps_start_refused start.log "no such user" "user 'tc-it-nosuchuser' does not exist" || return 1
	ps_conf
	echo "max_credentials = 12 # twelve" >>"$WORK/tokencache.conf"
	ps_start_refused start.log "a comment after a value" "tokencache.conf:.*: '#' after a value" || return 1
	# A runtime_dir on a read-only file system, as every path but
	# /run/tokencache is under the unit's ProtectSystem=strict: to make,
	# or existing (then its chown fails).
	mkdir -p "$WORK/ro/old"
	for d in new old; do
		ps_conf
		sed -i "s|^runtime_dir = .*|runtime_dir = $WORK/ro/$d|" "$WORK/tokencache.conf"
		st=0
		unshare -m sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" &&
		    exec timeout 20 "$2" -f -c "$3"' sh "$WORK/ro" "$B/tokencached" \
		    "$WORK/tokencache.conf" >"$WORK/start-ro.log" 2>&1 || st=$?
		expect_eq "$st" 78 "exit status (read-only runtime_dir, $d)" ||
		    { cat "$WORK/start-ro.log"; return 1; }
		expect_grep "$WORK/ro/$d: Read-only file system (under systemd's ProtectSystem=strict, add it to the unit's ReadWritePaths=)" \
		    "$WORK/start-ro.log" "message" || return 1
	done
}

tc_scenario t_ps_config_exit_status "configuration errors exit 78 (EX_CONFIG), a read-only runtime_dir too" root

# Type=notify without systemd: the monitor, the main process (systemd's
# NotifyAccess=main takes no other's), sends what the worker has to say:
# READY=1 once the token exists, RELOADING=1 and READY=1 around a reload,
# STOPPING=1; the worker sends nothing itself.
t_ps_notify() {
	it_res_server long || return 1
	local log=$WORK/notify.log rp st=0 pid
	"$B/tests/tc-notifyrecv" "$WORK/notify" >"$log" 2>&1 &
	rp=$!
	wait_for 5 test -S "$WORK/notify" || { kill "$rp"; return 1; }
	ps_conf
	TC_DAEMON_WRAP="env NOTIFY_SOCKET=$WORK/notify" tc_daemon_start ||
	    { kill "$rp"; return 1; }
	pid=$DAEMON_PID
	if ! wait_for 15 grep -q 'READY=1' "$log"; then
		cat "$log"; kill "$rp"; ps_kill; return 1
	fi
	expect_grep "^$pid READY=1|STATUS=1 credential, 1 valid; next refresh in [0-9]*m|\$" \
	    "$log" "READY=1 with the token" || { kill "$rp"; ps_kill; return 1; }
	kill -HUP "$pid"
	ps_ready_twice() { [ "$(grep -c 'READY=1' "$log")" -ge 2 ]; }
	wait_for 10 ps_ready_twice || { cat "$log"; kill "$rp"; ps_kill; return 1; }
	kill -TERM "$pid"
	wait "$pid" || st=$?
	DAEMON_PID=
	wait_for 5 grep -q 'STOPPING=1' "$log"
	kill "$rp"
	wait "$rp" 2>/dev/null
	expect_eq "$st" 0 "exit status" || return 1
	expect_eq "$(cut -d' ' -f2 "$log" | sed 's/=.*//' | uniq | tr '\n' ' ')" \
	    "STATUS READY RELOADING READY STOPPING " "the messages, in order" ||
	    { cat "$log"; return 1; }
	expect_grep "^$pid RELOADING=1|MONOTONIC_USEC=[0-9]*|\$" "$log" "RELOADING=1" ||
	    return 1
	expect_eq "$(awk -v p="$pid" '$1 != p' "$log")" "" "messages not from the monitor" ||
	    return 1
}

tc_scenario t_ps_notify "Type=notify: the monitor sends READY=1 once the token exists, RELOADING=1/READY=1, STOPPING=1; the worker nothing" root

tc_main_if_run "${BASH_SOURCE[0]}" "$0"
