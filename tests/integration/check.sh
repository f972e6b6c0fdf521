#!/usr/bin/env bash
# check.sh - tokencachectl check as a monitoring plugin (Nagios, Icinga,
# Sensu): each exit status made by a real situation, the summary line and
# its performance data parsed, the thresholds and their usage errors.
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/check.sh
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# check_run [ARGS...]: run check; its stdout in $WORK/check.out, its
# stderr in $WORK/check.err, its exit status in CHECK_ST, the first line
# in CHECK_LINE, its text (before " | ") in CHECK_TEXT and its performance
# data (after) in CHECK_PERF.
check_run() {
	CHECK_ST=0
	ctl check "$@" >"$WORK/check.out" 2>"$WORK/check.err" || CHECK_ST=$?
	CHECK_LINE=$(head -n 1 "$WORK/check.out")
	CHECK_TEXT=${CHECK_LINE%% | *}
	CHECK_PERF=
	[[ $CHECK_LINE == *" | "* ]] && CHECK_PERF=${CHECK_LINE#* | }
	return 0
}

# check_expect STATUS TEXT WHAT: the exit status and the summary text.
check_expect() {
	expect_eq "$CHECK_ST" "$1" "$3: exit status (output: $(cat "$WORK/check.out" "$WORK/check.err"))" || return 1
	expect_eq "$CHECK_TEXT" "$2" "$3: summary" || return 1
}

# check_perf: CHECK_PERF parsed as performance data, one
# "LABEL VALUE UOM WARN CRIT MIN STATUS" line each, where STATUS is what
# the warn and crit ranges make of the value (0 OK, 1 WARNING, 2
# CRITICAL).  With Debian's libmonitoring-plugin-perl (the Monitoring
# Plugins project's own parser and range rules) when it is installed;
# otherwise by the guidelines' grammar here, for the forms check prints.
check_perf() {
	if perl -MMonitoring::Plugin::Performance -e 1 2>/dev/null; then
		perl -MMonitoring::Plugin::Performance -e '
			my @p = Monitoring::Plugin::Performance->parse_perfstring($ARGV[0]);
			my $n = () = $ARGV[0] =~ /=/g;
			die "parsed " . scalar(@p) . " of $n items\n" if @p != $n;
			for (@p) {
				printf "%s %s %s %s %s %s %d\n", $_->label, $_->value,
				    $_->uom, $_->warning, $_->critical, $_->min,
				    $_->threshold->get_status($_->value);
			}' "$CHECK_PERF"
		return
	fi
	local item re="^([A-Za-z0-9._~@+-]+)=([0-9]+)(s);([0-9]+):;([0-9]+):;(0)$"
	for item in $CHECK_PERF; do
		[[ $item =~ $re ]] || { echo "not performance data: $item" >&2; return 1; }
		local v=${BASH_REMATCH[2]} w=${BASH_REMATCH[4]} c=${BASH_REMATCH[5]} st=0
		[ "$v" -lt "$w" ] && st=1
		[ "$v" -lt "$c" ] && st=2
		echo "${BASH_REMATCH[1]} $v s $w: $c: 0 $st"
	done
}

# perf_field LABEL N: field N (1 label, 2 value, 3 uom, 4 warn, 5 crit,
# 6 min, 7 status) of LABEL's performance data.
perf_field() {
	check_perf | awk -v l="$1" -v n="$2" '$1 == l { print $n }'
}

# All valid: 0, a summary line with one performance-data item per
# credential.  The default thresholds are 300 s and 60 s, at most a tenth
# and a twentieth of a token's lifetime: a 20 s token is judged by 2 s
# and 1 s, and check stays OK across its refreshes (the daemon renews at
# 70-80 % of a lifetime, 4 to 6 s before the end).
t_check_ok_perfdata() {
	local n v i st
	it_server main 3600 || return 1
	it_server mid 20 || return 1
	local sf
	sf=$(tc_secret post "$POST_SECRET")
	tc_config "$FAST_RATE" "$FAST_BURST"
	tc_cred alpha "$PORT_main" it-post "$sf"
	tc_cred beta "$PORT_main" it-fanout "$sf"
	tc_cred short "$PORT_mid" it-refresh "$sf"
	tc_daemon_start || return 1
	for n in alpha beta short; do
		ctl token "$n" --wait 15 >/dev/null || return 1
	done
	check_run
	check_expect 0 "TOKENCACHE OK - 3 credentials valid" "all valid" || return 1
	check_perf >"$WORK/perf" || { echo "performance data: $CHECK_PERF"; return 1; }
	expect_eq "$(awk '{ print $1 }' "$WORK/perf" | tr '\n' ' ')" "alpha beta short " \
	    "performance-data labels" || return 1
	for n in alpha beta; do
		v=$(perf_field "$n" 2)
		[ "$v" -gt 3500 ] && [ "$v" -le 3600 ] || { echo "$n: $v s left"; return 1; }
		expect_eq "$(perf_field "$n" 3) $(perf_field "$n" 4) $(perf_field "$n" 5) $(perf_field "$n" 6)" \
		    "s 300: 60: 0" "$n: unit, thresholds, min" || return 1
	done
	expect_eq "$(perf_field short 4) $(perf_field short 5)" "2: 1:" \
	    "the 20 s token's thresholds" || return 1
	expect_eq "$(awk '{ print $7 }' "$WORK/perf" | tr -d '\n')" 000 \
	    "the parser's verdict on each value" || return 1
	ctl check --json >"$WORK/check.json"
	expect_eq "$(sed -n '2,$p' "$WORK/check.out")" \
	    "daemon: $(tc_json "$WORK/check.json" j.daemon.message)" "the long output" || return 1
	expect_eq "$(tc_json "$WORK/check.json" '[j.ok, j.status, j.exit_status, j.daemon.reachable]')" \
	    '[true,"OK",0,true]' "check --json" || return 1
	expect_eq "$(tc_json "$WORK/check.json" 'j.credentials.map((c) => [c.name, c.state, c.ok, c.status, c.warning, c.critical].join(" ")).join(",")')" \
	    "alpha valid true OK 300 60,beta valid true OK 300 60,short valid true OK 2 1" \
	    "check --json credentials" || return 1
	expect_eq "$(tc_json "$WORK/check.json" 'j.summary')" "TOKENCACHE OK - 3 credentials valid" \
	    "check --json summary" || return 1
	# 25 s, so across at least one refresh of the 20 s token.
	for i in $(seq 1 50); do
		st=0
		ctl check >"$WORK/loop.out" 2>&1 || st=$?
		[ "$st" = 0 ] || { echo "check $i: exit $st"; cat "$WORK/loop.out"; ctl list; return 1; }
		sleep 0.5
	done
	[ "$(tc_stats "$PORT_mid")" -ge 2 ] || { echo "the 20 s token was not refreshed"; return 1; }
}

tc_scenario t_check_ok_perfdata "check: all valid is OK (0) with performance data; a 20 s token stays OK across its refreshes"

# Thresholds: one crossed is WARNING, or CRITICAL; given alone, a
# threshold moves the other's default aside.
t_check_thresholds() {
	it_server main 3600 || return 1
	local sf
	sf=$(tc_secret post "$POST_SECRET")
	tc_config "$FAST_RATE" "$FAST_BURST"
	tc_cred alpha "$PORT_main" it-post "$sf"
	tc_cred beta "$PORT_main" it-fanout "$sf"
	tc_daemon_start || return 1
	ctl token alpha --wait 15 >/dev/null && ctl token beta --wait 15 >/dev/null || return 1
	local la lb
	check_run --warning 7200 --critical 60
	la=$(perf_field alpha 2) lb=$(perf_field beta 2)
	check_expect 1 "TOKENCACHE WARNING - alpha expires in ${la}s, beta expires in ${lb}s; 0 of 2 credentials OK" \
	    "--warning 7200" || return 1
	expect_eq "$(perf_field alpha 4) $(perf_field alpha 5) $(perf_field alpha 7)" "7200: 60: 1" \
	    "alpha's thresholds and the parser's verdict" || return 1
	expect_eq "$(sed -n 2p "$WORK/check.out")" \
	    "alpha: valid, expires in ${la}s, below the warning threshold of 7200s" "long output" || return 1
	# -w and -c, as the standard plugins spell them.
	check_run -w 7200 -c 3700
	check_expect 2 "TOKENCACHE CRITICAL - alpha expires in $(perf_field alpha 2)s, beta expires in $(perf_field beta 2)s; 0 of 2 credentials OK" \
	    "-w 7200 -c 3700" || return 1
	# --critical alone, above the default warning: the warning follows.
	check_run --critical 7200
	expect_eq "$CHECK_ST $(perf_field alpha 4) $(perf_field alpha 5)" "2 7200: 7200:" \
	    "--critical 7200 alone" || return 1
	# --warning alone, below the default critical: the critical follows.
	check_run --warning 30
	expect_eq "$CHECK_ST $(perf_field alpha 4) $(perf_field alpha 5)" "0 30: 30:" \
	    "--warning 30 alone" || return 1
	# 0 turns a threshold off.
	check_run --warning 0 --critical 0
	expect_eq "$CHECK_ST $(perf_field beta 4) $(perf_field beta 5)" "0 0: 0:" \
	    "--warning 0 --critical 0" || return 1
	ctl check --json --warning 7200 >"$WORK/check.json"
	expect_eq "$(tc_json "$WORK/check.json" '[j.ok, j.status, j.exit_status, j.credentials[0].status, j.credentials[0].warning]')" \
	    '[true,"WARNING",1,"WARNING",7200]' "check --json --warning 7200" || return 1
}

tc_scenario t_check_thresholds "check: a threshold crossed is WARNING (1) or CRITICAL (2); -w and -c; one alone moves the other"

# A still-valid token whose refresh fails (the fault endpoint's outage):
# WARNING, with the server's error in the long output; OK again once a
# refresh succeeds.
t_check_refresh_failing() {
	it_fault_server || return 1
	local sf left
	sf=$(tc_secret post "$POST_SECRET")
	tc_config "$FAST_RATE" "$FAST_BURST" "refresh_min_interval = 0"
	tc_cred api "$PF/jwt?ttl=3600" it-post "$sf" "timeout = 2"
	tc_daemon_start || return 1
	ctl token api --wait 15 >/dev/null || return 1
	check_run
	check_expect 0 "TOKENCACHE OK - 1 credential valid" "before the outage" || return 1
	tc_server_ctl "$PF" "/_outage?on=1" || return 1
	ctl refresh api >/dev/null 2>&1 && { echo "a refresh succeeded during the outage"; return 1; }
	check_run
	left=$(perf_field api 2)
	[ "$left" -gt 3500 ] || { echo "api: $left s left"; return 1; }
	check_expect 1 "TOKENCACHE WARNING - api refresh failing (${left}s left); 0 of 1 credential OK" \
	    "refresh failing" || return 1
	expect_eq "$(sed -n 2p "$WORK/check.out")" \
	    "api: valid, expires in ${left}s, refresh failing (1 failure): HTTP 503: temporarily_unavailable: outage" \
	    "long output" || return 1
	expect_eq "$(perf_field api 7)" 0 "the value itself is within the thresholds" || return 1
	ctl check --json >"$WORK/check.json"
	expect_eq "$(tc_json "$WORK/check.json" '[j.ok, j.status, j.exit_status, j.credentials[0].state, j.credentials[0].status]')" \
	    '[true,"WARNING",1,"valid","WARNING"]' "check --json" || return 1
	tc_server_ctl "$PF" "/_outage?on=0" || return 1
	ctl refresh api >/dev/null || return 1
	check_run
	check_expect 0 "TOKENCACHE OK - 1 credential valid" "after the outage" || return 1
}

tc_scenario t_check_refresh_failing "check: a valid token whose refresh fails is WARNING (1); OK again after a refresh"

# An expired token (its endpoint down past its lifetime) and one that
# never got a token (a wrong client secret): CRITICAL, each named with
# its reason; a good one beside them stays OK.
t_check_expired_and_failed() {
	it_fault_server || return 1
	it_server main 3600 || return 1
	local sf bad
	sf=$(tc_secret post "$POST_SECRET")
	bad=$(tc_secret bad "$BAD_SECRET")
	tc_config "$FAST_RATE" "$FAST_BURST"
	tc_cred good "$PORT_main" it-post "$sf"
	tc_cred soon "$PF/jwt?ttl=6" it-post "$sf" "timeout = 2"
	tc_cred wrong "$PORT_main" it-post "$bad"
	tc_daemon_start || return 1
	ctl token good --wait 15 >/dev/null && ctl token soon --wait 15 >/dev/null || return 1
	tc_server_ctl "$PF" "/_outage?on=1" || return 1
	# Expired, then failed at the next retry (no valid token): both
	# are CRITICAL.
	wait_json soon 'j.expires_in === 0 && j.state != "valid"' 15 || return 1
	wait_json wrong 'j.state == "failed"' 15 || return 1
	check_run
	[[ $CHECK_TEXT =~ ^"TOKENCACHE CRITICAL - soon "(expired|failed)", wrong failed; 1 of 3 credentials OK"$ ]] ||
	    { echo "summary: $CHECK_TEXT"; return 1; }
	expect_eq "$CHECK_ST" 2 "exit status" || return 1
	expect_grep "^soon: \(expired\|failed\): HTTP 503: temporarily_unavailable: outage$" \
	    "$WORK/check.out" "soon's line" || return 1
	expect_grep "^wrong: failed: .*invalid_client" "$WORK/check.out" "wrong's line" || return 1
	expect_eq "$(perf_field soon 2) $(perf_field soon 4) $(perf_field soon 5)" "0 1: 1:" \
	    "no time left; a 6 s token's thresholds, at least 1 s" || return 1
	expect_eq "$(perf_field wrong 2) $(perf_field wrong 4) $(perf_field wrong 5)" "0 300: 60:" \
	    "no token: the default thresholds" || return 1
	expect_eq "$(perf_field soon 7)$(perf_field wrong 7)$(perf_field good 7)" 220 \
	    "the parser's verdicts" || return 1
	ctl check --json >"$WORK/check.json"
	expect_eq "$(tc_json "$WORK/check.json" '[j.ok, j.status, j.exit_status, j.credentials.map((c) => c.status).join(" ")]')" \
	    '[false,"CRITICAL",2,"OK CRITICAL CRITICAL"]' "check --json" || return 1
}

tc_scenario t_check_expired_and_failed "check: an expired token and a wrong secret are CRITICAL (2)"

# A daemon that is stopped, or was never started: UNKNOWN, saying so, and
# no performance data (the cache left behind tells the past).
t_check_daemon_stopped() {
	it_server main 3600 || return 1
	local sf
	sf=$(tc_secret post "$POST_SECRET")
	tc_config "$FAST_RATE" "$FAST_BURST"
	tc_cred good "$PORT_main" it-post "$sf"
	tc_daemon_start || return 1
	ctl token good --wait 15 >/dev/null || return 1
	check_run
	check_expect 0 "TOKENCACHE OK - 1 credential valid" "running" || return 1
	tc_daemon_stop || return 1
	check_run
	check_expect 3 "TOKENCACHE UNKNOWN - cannot reach tokencached at $WORK/run/socket" \
	    "stopped" || return 1
	expect_eq "$CHECK_PERF$(wc -l <"$WORK/check.out")" 1 "no performance data, one line" || return 1
	ctl check --json >"$WORK/check.json" && { echo "check --json passed"; return 1; }
	expect_eq "$(tc_json "$WORK/check.json" '[j.daemon.reachable, j.ok, j.status, j.exit_status]')" \
	    '[false,false,"UNKNOWN",3]' "check --json" || return 1
	mkdir -p "$WORK/empty"
	CHECK_ST=0
	"$CTL" --runtime-dir "$WORK/empty" check >"$WORK/check.out" 2>&1 || CHECK_ST=$?
	expect_eq "$CHECK_ST $(cat "$WORK/check.out")" \
	    "3 TOKENCACHE UNKNOWN - cannot reach tokencached at $WORK/empty/socket" "never started" || return 1
}

tc_scenario t_check_daemon_stopped "check: a stopped daemon is UNKNOWN (3), no performance data"

# Usage errors of check are UNKNOWN (3), as the plugin guidelines ask,
# with the reason on standard error and nothing on standard output; the
# other commands keep 2.
t_check_usage() {
	local args st
	while IFS= read -r args; do
		st=0
		# shellcheck disable=SC2086
		ctl check $args >"$WORK/usage.out" 2>"$WORK/usage.err" || st=$?
		expect_eq "$st" 3 "check $args: exit status" || return 1
		[ -s "$WORK/usage.out" ] && { echo "check $args: printed $(cat "$WORK/usage.out")"; return 1; }
		expect_grep "^usage: tokencachectl \[--runtime-dir DIR\] check \[--warning SECONDS\] \[--critical SECONDS\] \[--json\]$" \
		    "$WORK/usage.err" "check $args: usage" || return 1
	done <<'EOF'
--warning
--warning x
--warning -1
--warning 1.5
--warning 315360001
--critical 5m
-c
--warning 10 --critical 20
-w 10 -c 11
--bogus
extra
EOF
	ctl check --warning 10 --critical 20 2>&1 | grep -qx \
	    "tokencachectl: --critical 20 is more than --warning 10: a token must warn before it is critical" ||
	    { echo "no reason for critical > warning"; return 1; }
	ctl check --warning x 2>&1 | grep -qx \
	    "tokencachectl: --warning: 'x' is not a whole number of seconds from 0 to 315360000" ||
	    { echo "no reason for --warning x"; return 1; }
	ctl check --critical 2>&1 | grep -qx "tokencachectl: check: option --critical needs an argument" ||
	    { echo "no reason for --critical without a value"; return 1; }
	# Accepted values reach the check (no daemon here: UNKNOWN, on stdout).
	st=0
	ctl check -w 315360000 -c 0 >"$WORK/usage.out" 2>&1 || st=$?
	expect_eq "$st $(cat "$WORK/usage.out")" \
	    "3 TOKENCACHE UNKNOWN - cannot reach tokencached at $WORK/run/socket" "the largest values" || return 1
	ctl check --help | grep -q '^usage: .* check \[--warning SECONDS\]' || { echo "check --help"; return 1; }
	# The others' usage errors stay 2, and they take no thresholds.
	st=0
	ctl list --warning 5 >/dev/null 2>"$WORK/usage.err" || st=$?
	expect_eq "$st $(head -n 1 "$WORK/usage.err")" "2 tokencachectl: list does not take --warning" \
	    "list --warning" || return 1
	st=0
	ctl show x -c 5 >/dev/null 2>"$WORK/usage.err" || st=$?
	expect_eq "$st $(head -n 1 "$WORK/usage.err")" "2 tokencachectl: show does not take -c" \
	    "show -c" || return 1
	st=0
	ctl token x --wait >/dev/null 2>"$WORK/usage.err" || st=$?
	expect_eq "$st $(head -n 1 "$WORK/usage.err")" "2 tokencachectl: token: option --wait needs an argument" \
	    "token --wait" || return 1
}

tc_scenario t_check_usage "check: bad threshold values and options are usage errors, UNKNOWN (3); other commands keep 2"

tc_main_if_run "${BASH_SOURCE[0]}" "$0"
