#!/usr/bin/env bash
# watch.sh - tokencachectl watch in a real terminal (tmux) and in a pipe:
# the credentials on screen, a refresh showing up, the daemon stopped,
# killed and started again under it, and the terminal left as it was on q,
# Ctrl-C, SIGTERM and SIGHUP.  Every wait is bounded and polls what the
# terminal shows; none asserts how fast.
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/watch.sh
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# tmux on a server of the scenario's own (its socket in $WORK, no
# configuration file), so that scenarios running at once never meet.
wt() {
	tmux -S "$WORK/tmux.sock" -f /dev/null "$@"
}

# watch_setup: an OAuth server, credentials alpha and beta, the daemon,
# and a token each.
watch_setup() {
	local sf n
	it_server main 3600 || return 1
	sf=$(tc_secret post "$POST_SECRET")
	tc_config "$FAST_RATE" "$FAST_BURST" "refresh_min_interval = 0"
	tc_cred alpha "$PORT_main" it-post "$sf" "allow_users = tc-it-alice"
	tc_cred beta "$PORT_main" it-fanout "$sf"
	tc_daemon_start || { cat "$WORK/daemon.log"; return 1; }
	for n in alpha beta; do
		ctl token "$n" --wait 15 >/dev/null || return 1
	done
}

# gen_of NAME: its generation, from show --json.
gen_of() {
	ctl show "$1" --json >"$WORK/gen.json" && tc_json "$WORK/gen.json" j.generation
}

# term_start: a detached tmux session, 100 columns by 30 rows, running a
# plain shell with a known prompt, which has printed a marker line.  The
# server is stopped with the scenario (RES_PIDS).
term_start() {
	wt new-session -d -s it -x 100 -y 30 \
	    "env -i PATH='$PATH' HOME='$WORK' TERM=screen PS1='it-prompt\$ ' \
	    TOKENCACHE_DAEMON_USER='${TOKENCACHE_DAEMON_USER:-}' \
	    bash --norc --noprofile" || { echo "tmux did not start"; return 1; }
	RES_PIDS="$RES_PIDS $(wt display -p -t it '#{pid}')"
	wt send-keys -t it "echo before-watch-marker" Enter
	wait_pane '^before-watch-marker' 10
}

# pane: what the terminal shows now, into $WORK/pane.
pane() {
	wt capture-pane -p -t it >"$WORK/pane"
}
pane_has() {
	pane && grep -Eq -- "$1" "$WORK/pane"
}
# wait_pane REGEX SECONDS: until the terminal shows a line matching REGEX.
wait_pane() {
	wait_for "$2" pane_has "$1" && return 0
	echo "the terminal does not show /$1/ after $2 s:"
	sed 's/^/| /' "$WORK/pane"
	return 1
}
# row NAME FIELD: a field of NAME's row on screen (1 name, 2 state, 3-4
# expires, 5 time left, 6 generation).
row() {
	pane && awk -v n="$1" -v f="$2" '$1 == n { print $f; exit }' "$WORK/pane"
}
row_is() {
	[ "$(row "$1" "$2")" = "$3" ]
}
# tmux's view of the pane: on the alternate screen?  cursor shown?
term_flags() {
	wt display -p -t it '#{alternate_on} #{cursor_flag}'
}
term_restored() {
	[ "$(term_flags)" = "0 1" ]
}

# watch_run: start watch in the terminal; it shows its screen.
watch_run() {
	wt send-keys -t it "$CTL --runtime-dir $WORK/run watch" Enter
	wait_pane '^NAME +STATE +EXPIRES +IN +GEN +LAST ERROR' 10 || return 1
	expect_eq "$(term_flags)" "1 0" "on the alternate screen, cursor hidden" || return 1
}

# watch_ended STATUS: watch has ended with STATUS and the terminal is as
# before: the main screen with the shell's lines from before watch, cursor
# shown, the line discipline's modes back (canonical input, echo).
WATCH_ENDS=0
watch_ended() {
	WATCH_ENDS=$((WATCH_ENDS + 1))
	wait_for 10 term_restored || { echo "terminal flags: $(term_flags), not '0 1'"; pane; cat "$WORK/pane"; return 1; }
	# Its status asked afterwards: the shell drops the rest of a command
	# line whose program died of SIGINT, as it should.
	wait_pane '^it-prompt\$ ?$' 10 || return 1
	wt send-keys -t it "echo watch-exit=\$?" Enter
	wait_pane "^watch-exit=$1\$" 10 || return 1
	pane_has '^NAME +STATE' && { echo "the watch screen is still there"; cat "$WORK/pane"; return 1; }
	pane_has '^before-watch-marker$' || { echo "the shell's lines from before are not back"; cat "$WORK/pane"; return 1; }
	wt send-keys -t it "stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e echo | sort | tr '\\n' ' '; echo modes-$WATCH_ENDS" Enter
	wait_pane "^echo icanon modes-$WATCH_ENDS\$" 10 || { echo "the terminal's modes were not restored"; return 1; }
}

# On screen: both credentials with their generations, never a token; a
# refresh shows the new generation; the time left counts down; a smaller
# window cuts the lines and keeps the status line at the bottom; q leaves
# the terminal as it was.
t_watch_screen_refresh() {
	local g0 g1 tok in0
	watch_setup || return 1
	term_start || return 1
	watch_run || return 1
	wait_pane '^tokencached: running \(pid [0-9]+\)' 5 || return 1
	g0=$(gen_of alpha) || return 1
	wait_for 5 row_is alpha 6 "$g0" || { echo "alpha's generation on screen: $(row alpha 6), not $g0"; return 1; }
	expect_eq "$(row alpha 2) $(row beta 2) $(row beta 6)" "valid valid $(gen_of beta)" "the rows" || return 1
	tok=$(ctl token alpha) || return 1
	pane
	! grep -qF -- "$tok" "$WORK/pane" || { echo "a token on the screen"; return 1; }
	ctl refresh alpha >/dev/null || return 1
	g1=$(gen_of alpha)
	expect_ne "$g1" "$g0" "generation after the refresh" || return 1
	wait_for 10 row_is alpha 6 "$g1" || { echo "alpha's generation on screen: $(row alpha 6), not $g1"; cat "$WORK/pane"; return 1; }
	in0=$(row beta 5)
	wait_for 5 eval '[ "$(row beta 5)" != "$in0" ]' || { echo "beta's time left stays $in0"; return 1; }
	wt resize-window -t it -x 50 -y 12 || return 1
	wait_for 10 eval 'pane && [ "$(awk "{ print length }" "$WORK/pane" | sort -n | tail -n1)" -le 50 ] &&
	    [ "$(wc -l <"$WORK/pane")" = 12 ] && tail -n1 "$WORK/pane" | grep -q "^q: quit"' ||
	    { echo "after a resize to 50x12:"; cat "$WORK/pane"; return 1; }
	row_is alpha 6 "$g1" || { echo "alpha not shown at 50 columns"; return 1; }
	wt resize-window -t it -x 100 -y 30 || return 1
	wt send-keys -t it q
	watch_ended 0
}

tc_scenario t_watch_screen_refresh "watch: the credentials on a terminal (tmux), a refresh shows its new generation, no token; a resize; q restores the terminal"

# Ctrl-C, SIGTERM, SIGHUP and SIGQUIT each end watch by that signal, with
# the terminal restored; SIGQUIT without a core dump, although the shell
# allows one (a core file would land in its directory, core_pattern
# permitting, and bash would say "core dumped").
t_watch_screen_signals() {
	local sig st shell pid
	watch_setup || return 1
	term_start || return 1
	mkdir -p "$WORK/cores" || return 1
	wt send-keys -t it "cd $WORK/cores && ulimit -c unlimited" Enter
	watch_run || return 1
	wt send-keys -t it C-c
	watch_ended 130 || return 1
	shell=$(wt display -p -t it '#{pane_pid}')
	for sig in TERM:143 HUP:129 QUIT:131; do
		st=${sig#*:}
		sig=${sig%:*}
		watch_run || return 1
		pid=$(pgrep -P "$shell" -x tokencachectl) || { echo "no watch process"; return 1; }
		kill "-$sig" "$pid"
		watch_ended "$st" || { echo "after SIG$sig"; return 1; }
	done
	! pane_has 'core dumped' || { echo "watch dumped core on SIGQUIT"; cat "$WORK/pane"; return 1; }
	expect_eq "$(ls -A "$WORK/cores")" "" "files in the shell's directory after SIGQUIT" || return 1
}

tc_scenario t_watch_screen_signals "watch: Ctrl-C, SIGTERM, SIGHUP and SIGQUIT end it with the terminal restored, no core"

# poll(2) failing under watch (a preloaded shim: ENOMEM, which no retry
# cures): watch says so and exits 1, not 0 as if asked to quit.
t_watch_poll_fails() {
	local st san=
	# A sanitizer runtime must come first in the library list
	# (resources.sh does the same for libfaketime).
	[ "$SANITIZED" = 1 ] && san="ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0"
	# shellcheck disable=SC2086
	env LD_PRELOAD="$B/tests/tc-pollfail.so" $san \
	    "$CTL" --runtime-dir "$WORK/run" watch </dev/null >"$WORK/out" 2>"$WORK/err"
	st=$?
	expect_eq "$st" 1 "watch's exit status when poll fails" || { cat "$WORK/err"; return 1; }
	grep -q '^tokencachectl: watch: poll: ' "$WORK/err" || { echo "no message about poll:"; cat "$WORK/err"; return 1; }
}

tc_scenario t_watch_poll_fails "watch: poll failing ends it with status 1 and a message"

# The daemon stopped (SIGTERM: its socket goes) and killed (SIGKILL: its
# socket stays) under watch: the screen says so and keeps the rows; started
# again, the view follows the new daemon's segment.
t_watch_screen_daemon_restart() {
	local g how
	watch_setup || return 1
	term_start || return 1
	watch_run || return 1
	for how in TERM KILL; do
		wait_pane "^tokencached: running \\(pid $(tc_worker_pid)\\)" 10 || return 1
		tc_daemon_stop "$how" >/dev/null 2>&1
		wait_pane '^tokencached: NOT RUNNING since' 10 || { echo "after SIG$how"; return 1; }
		row_is alpha 2 valid || { echo "alpha's row is gone while the daemon is away"; cat "$WORK/pane"; return 1; }
		tc_daemon_start || return 1
		wait_pane "^tokencached: running \\(pid $(tc_worker_pid)\\)" 10 || { echo "after the restart that followed SIG$how"; return 1; }
		ctl refresh alpha >/dev/null || return 1
		g=$(gen_of alpha)
		wait_for 10 row_is alpha 6 "$g" ||
		    { echo "after SIG$how and a restart: alpha's generation on screen $(row alpha 6), not $g"; cat "$WORK/pane"; return 1; }
	done
	wt send-keys -t it q
	watch_ended 0
}

tc_scenario t_watch_screen_daemon_restart "watch: the daemon stopped or killed shows on screen; started again, the view follows it"

# Not on a terminal: a line per change (and with --json an object per
# change): the first state, a refresh, a credential removed by a reload,
# the daemon going and coming back, also in a runtime directory made anew;
# no escape sequence, no token.
t_watch_lines() {
	local g0 g1 g2 pid jpid p st tok re
	watch_setup || return 1
	g0=$(gen_of alpha)
	# The program itself in the background (not the function ctl, whose
	# subshell would be $! and die alone), so that the signals reach it.
	"$CTL" --runtime-dir "$WORK/run" watch >"$WORK/lines" 2>"$WORK/lines.err" &
	pid=$!
	"$CTL" --runtime-dir "$WORK/run" watch --json >"$WORK/lines.json" \
	    2>"$WORK/lines.json.err" &
	jpid=$!
	RES_PIDS="$RES_PIDS $pid $jpid"
	re='^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} '
	wait_grep "alpha: valid, generation $g0, expires " "$WORK/lines" 10 || return 1
	wait_grep "beta: valid, generation " "$WORK/lines" 10 || return 1
	ctl refresh alpha >/dev/null || return 1
	g1=$(gen_of alpha)
	wait_grep "alpha: valid, generation $g1, expires " "$WORK/lines" 10 || return 1
	rm "$WORK/creds/beta.conf"
	kill -HUP "$DAEMON_PID"
	wait_grep "beta: removed\$" "$WORK/lines" 10 || return 1
	tc_daemon_stop TERM >/dev/null 2>&1
	wait_grep "tokencached: not running: " "$WORK/lines" 10 || return 1
	tc_daemon_start || return 1
	wait_for 10 eval '[ "$(grep -c "tokencached: running (pid" "$WORK/lines")" -ge 2 ]' ||
	    { echo "no line for the daemon's return:"; cat "$WORK/lines"; return 1; }
	wait_for 10 eval '[ "$(grep -c "\"running\":true" "$WORK/lines.json")" -ge 2 ]' ||
	    { echo "no JSON line for the daemon's return:"; cat "$WORK/lines.json"; return 1; }
	# The runtime directory removed with the daemon, as systemd does when
	# the unit stops, and made anew by the next one.
	tc_daemon_stop TERM >/dev/null 2>&1
	rm -rf "$WORK/run"
	wait_for 10 eval '[ "$(grep -c "tokencached: not running: " "$WORK/lines")" -ge 2 ]' ||
	    { echo "no line for the daemon's second stop:"; cat "$WORK/lines"; return 1; }
	tc_daemon_start || return 1
	wait_for 10 eval '[ "$(grep -c "tokencached: running (pid" "$WORK/lines")" -ge 3 ]' ||
	    { echo "no line for the daemon's return in a new directory:"; cat "$WORK/lines"; return 1; }
	ctl refresh alpha >/dev/null || return 1
	g2=$(gen_of alpha)
	wait_grep "alpha: valid, generation $g2, expires " "$WORK/lines" 10 || return 1
	for p in "$pid" "$jpid"; do
		kill -TERM "$p"
		st=0
		wait "$p" || st=$?
		expect_eq "$st" 143 "watch's exit status on SIGTERM" || return 1
	done
	[ ! -s "$WORK/lines.err" ] || { echo "watch wrote to stderr:"; cat "$WORK/lines.err"; return 1; }
	grep -Evq -- "$re" "$WORK/lines" && { echo "a line without its time:"; grep -Ev -- "$re" "$WORK/lines"; return 1; }
	grep -q $'\033' "$WORK/lines" "$WORK/lines.json" && { echo "an escape sequence in a pipe"; return 1; }
	tok=$(ctl token alpha) || return 1
	grep -qF -- "$tok" "$WORK/lines" "$WORK/lines.json" && { echo "a token in watch's output"; return 1; }
	# Each JSON line one object: the same story as the text.
	node -e '
		const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n");
		const ev = lines.map((l) => JSON.parse(l));
		const gens = ev.filter((e) => e.event === "credential" && e.name === "alpha").map((e) => e.generation);
		const want = [Number(process.argv[2]), Number(process.argv[3])];
		if (!want.every((g) => gens.includes(g))) throw new Error(`alpha generations ${gens}, want ${want}`);
		if (!ev.some((e) => e.event === "removed" && e.name === "beta")) throw new Error("no removed event for beta");
		if (!ev.some((e) => e.event === "daemon" && e.running === false && e.message.length > 0)) throw new Error("no daemon-stopped event");
		if (!ev.every((e) => Number.isInteger(e.time))) throw new Error("an event without its time");
	' "$WORK/lines.json" "$g0" "$g1" || { cat "$WORK/lines.json"; return 1; }
}

tc_scenario t_watch_lines "watch: in a pipe, a timestamped line (or with --json an object) per change, a removed credential, the daemon's coming and going"

# Any user may watch, with no access to a credential: watch needs no key
# and reads metadata only.  dave may not read alpha's token, yet sees its
# state and a refresh.
t_watch_other_user() {
	local g0 g1 pid
	watch_setup || return 1
	g0=$(gen_of alpha)
	as_user_bg tc-it-dave "$CTL" --runtime-dir "$WORK/run" watch \
	    >"$WORK/dave" 2>"$WORK/dave.err" &
	pid=$!
	RES_PIDS="$RES_PIDS $pid"
	wait_grep "alpha: valid, generation $g0, " "$WORK/dave" 10 || { cat "$WORK/dave.err"; return 1; }
	expect_grep "tokencached: running (pid $(tc_worker_pid))" "$WORK/dave" "dave's view of the daemon" || return 1
	ctl refresh alpha >/dev/null || return 1
	g1=$(gen_of alpha)
	wait_grep "alpha: valid, generation $g1, " "$WORK/dave" 10 || return 1
	as_user tc-it-dave "$CTL" --runtime-dir "$WORK/run" token alpha >/dev/null 2>&1 &&
	    { echo "dave read alpha's token"; return 1; }
	kill -TERM "$pid"
	wait "$pid"
	[ ! -s "$WORK/dave.err" ] || { cat "$WORK/dave.err"; return 1; }
}

tc_scenario t_watch_other_user "watch: a user with access to no credential watches them all, no key needed" root

tc_main_if_run "${BASH_SOURCE[0]}" "$0"
