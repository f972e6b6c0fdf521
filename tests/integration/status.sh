#!/usr/bin/env bash
# status.sh - list's columns and colours, show's JWT claims, server error
# and attempt history, against a real OAuth server, the fault server and
# the real daemon.
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/status.sh
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ESC=$'\033'

# on_tty FILE COLS COMMAND...: COMMAND's output on a terminal COLS wide
# (script(1) gives it a pseudo-terminal), carriage returns removed.
on_tty() {
	local f=$1 cols=$2 cmd
	shift 2
	cmd=$(printf '%q ' "$@")
	TERM=xterm script -q -e -c "stty cols $cols; $cmd" /dev/null \
	    </dev/null | tr -d '\r' >"$f"
}

# columns_aligned FILE: every row's PROVIDER, STATE and FAILS cells start
# where their titles do in the header (the lines that hold only a long
# name or the rest of a wrapped LAST ERROR aside).
columns_aligned() {
	awk -v f="$1" '
	NR == 1 { s = index($0, "STATE"); p = index($0, "PROVIDER")
		  n = index($0, "FAILS"); g = index($0, "GEN ")
		  if (!s || !p || !n || !g) { print f ": no header"; exit 1 }
		  next }
	substr($0, 1, g) ~ /^ *$/ { next }	# LAST ERROR wrapped
	length($0) < g { next }			# a name on a line of its own
	{
		if (substr($0, s) !~ /^(valid|pending|failed|expired|lost) /) {
			print f ": row " NR ": STATE not at column " s ": " $0; bad = 1
		}
		if (substr($0, n) !~ /^[0-9]+ /) {
			print f ": row " NR ": FAILS not at column " n ": " $0; bad = 1
		}
		if (substr($0, p) !~ /^[a-z0-9,-]+ /) {
			print f ": row " NR ": PROVIDER not at column " p ": " $0; bad = 1
		}
	}
	END { exit bad }' "$1"
}

# The new columns and fields from a real run: a good token and one whose
# server refuses the client.  Colour only on a terminal, never with
# NO_COLOR, always with --color=always; a 60-character name keeps the
# columns aligned, on a pipe and on a narrow terminal (where it is never
# cut).
t_list_columns() {
	local long
	long=zeebe-worker-$(printf '%047d' 0)
	[ "${#long}" = 60 ] || { echo "the long name is ${#long} long"; return 1; }
	it_server main 3600 || return 1
	P=$PORT_main
	post_sf=$(tc_secret post "$POST_SECRET")
	bad_sf=$(tc_secret bad "$BAD_SECRET")
	tc_config "$FAST_RATE" "$FAST_BURST"
	tc_cred opaque-post "$P" it-post "$post_sf"
	tc_cred "$long" "$P" it-post "$post_sf"
	tc_cred wrong-secret "$P" it-post "$bad_sf"
	tc_daemon_start || { cat "$WORK/daemon.log"; return 1; }
	token_of opaque-post "$WORK/t1" || return 1
	token_of "$long" "$WORK/t2" || return 1
	wait_settled || return 1
	wait_for 10 sh -c "'$CTL' --runtime-dir '$WORK/run' show wrong-secret --json |
	    grep -q '\"failures\": [1-9]'" || { echo "wrong-secret never failed"; return 1; }

	ctl list >"$WORK/l1" || { cat "$WORK/l1"; return 1; }
	cat "$WORK/l1"
	expect_grep "^NAME  *PROVIDER  *STATE  *EXPIRES  *IN  *NEXT REFRESH  *LAST OK  *FAILS  *GEN  *LAST ERROR$" \
	    "$WORK/l1" "header" || return 1
	grep -q "^opaque-post  *oauth2  *valid  .*  in [0-9hms]*  *\([0-9][0-9hms]* ago\|now\)  *0  *[0-9]*  *-$" "$WORK/l1" ||
	    { echo "opaque-post's row: provider oauth2, valid, in ..., ... ago, 0 failures"; return 1; }
	grep -q "^wrong-secret  *oauth2  *failed  .*  -  *[1-9][0-9]*  *[0-9]*  *.*invalid_client" "$WORK/l1" ||
	    { echo "wrong-secret's row: failed, never OK (-), failures, invalid_client"; return 1; }
	grep -qF "$long " "$WORK/l1" || { echo "the long name is not whole"; return 1; }
	columns_aligned "$WORK/l1" || return 1
	grep -q "$ESC" "$WORK/l1" && { echo "escape bytes on a pipe"; return 1; }

	# --json: the same fields.
	ctl list --json >"$WORK/l.json" || return 1
	expect_eq "$(tc_json "$WORK/l.json" 'j.find(c => c.name == "opaque-post").provider')" \
	    oauth2 "provider" || return 1
	expect_eq "$(tc_json "$WORK/l.json" '(c => Number.isInteger(c.next_refresh_in) &&
	    c.next_refresh_in > 0 && c.last_success_at == c.fetched_at &&
	    c.last_success_at > 0 && c.failures == 0)(j.find(c => c.name == "opaque-post"))')" \
	    true "next_refresh_in, last_success_at, failures" || return 1
	expect_eq "$(tc_json "$WORK/l.json" '(c => c.last_success_at === null &&
	    c.failures >= 1)(j.find(c => c.name == "wrong-secret"))')" true \
	    "wrong-secret: no last success, failures" || return 1

	# Colour: a terminal gets it, unless NO_COLOR (any value) or
	# --color=never; --color=always gets it anywhere, NO_COLOR or not.
	on_tty "$WORK/tty1" 400 "$CTL" --runtime-dir "$WORK/run" list || return 1
	grep -q "${ESC}\[32mvalid${ESC}\[0m" "$WORK/tty1" || { cat -v "$WORK/tty1"; echo "no green valid on a terminal"; return 1; }
	grep -q "${ESC}\[31mfailed${ESC}\[0m" "$WORK/tty1" || { cat -v "$WORK/tty1"; echo "no red failed on a terminal"; return 1; }
	# Coloured or not, the columns line up (escapes take no room).
	sed "s/${ESC}\[[0-9]*m//g" "$WORK/tty1" >"$WORK/tty1.plain"
	columns_aligned "$WORK/tty1.plain" || return 1
	for v in 1 0 yes; do
		NO_COLOR=$v on_tty "$WORK/tty2" 400 "$CTL" --runtime-dir "$WORK/run" list || return 1
		grep -q "$ESC" "$WORK/tty2" && { cat -v "$WORK/tty2"; echo "escape bytes with NO_COLOR=$v"; return 1; }
	done
	on_tty "$WORK/tty3" 400 "$CTL" --runtime-dir "$WORK/run" list --color=never || return 1
	grep -q "$ESC" "$WORK/tty3" && { echo "escape bytes with --color=never"; return 1; }
	NO_COLOR=1 ctl list --color=always >"$WORK/l2" || return 1
	grep -q "${ESC}\[32mvalid" "$WORK/l2" || { echo "--color=always gave no colour"; return 1; }
	ctl list --color always >"$WORK/l3" || return 1
	grep -q "${ESC}\[31mfailed" "$WORK/l3" || { echo "--color always gave no colour"; return 1; }

	# A terminal narrower than the table: the long name on a line of its
	# own, whole; the rows still aligned; no line past the edge but a
	# name's or LAST ERROR's that could not be broken.
	on_tty "$WORK/tty4" 120 "$CTL" --runtime-dir "$WORK/run" list --color=never || return 1
	cat "$WORK/tty4"
	grep -qx "$long" "$WORK/tty4" || { echo "the long name is not on a line of its own"; return 1; }
	columns_aligned "$WORK/tty4" || return 1
	# ... and on a pipe it is never wrapped, whatever COLUMNS says.
	COLUMNS=40 ctl list >"$WORK/l4" || return 1
	expect_eq "$(wc -l <"$WORK/l4")" 4 "lines on a pipe (a header, three rows)" || return 1
}

tc_scenario t_list_columns "list: provider, next refresh, last OK, failures; colour on a terminal only, never with NO_COLOR; a 60-character name aligned"

# The daemon stopped: list reads the persistent copy, the provider is "-"
# and nothing fails; show says the history is unavailable.
t_list_without_daemon() {
	it_server main 3600 || return 1
	post_sf=$(tc_secret post "$POST_SECRET")
	tc_config
	tc_cred opaque-post "$PORT_main" it-post "$post_sf"
	tc_daemon_start || { cat "$WORK/daemon.log"; return 1; }
	token_of opaque-post "$WORK/t1" || return 1
	tc_daemon_stop || return 1
	ctl list >"$WORK/l1" 2>"$WORK/l1.err" || { cat "$WORK/l1" "$WORK/l1.err"; echo "list failed without a daemon"; return 1; }
	cat "$WORK/l1"
	grep -q "^opaque-post  *-  *valid " "$WORK/l1" || { echo "provider not '-'"; return 1; }
	ctl list --json >"$WORK/l.json" || return 1
	expect_eq "$(tc_json "$WORK/l.json" 'j[0].provider')" null "provider in JSON" || return 1
	ctl show opaque-post >"$WORK/s1" || { cat "$WORK/s1"; return 1; }
	cat "$WORK/s1"
	expect_grep "^attempts: *unavailable: cannot reach tokencached" "$WORK/s1" "history" || return 1
	expect_grep "^provider: *-$" "$WORK/s1" "provider" || return 1
}

tc_scenario t_list_without_daemon "list without the daemon: from the persistent copy, provider '-', exit 0; show: history unavailable"

# The daemon stopped (SIGSTOP: its socket still accepts, nobody answers),
# as bash completion's list --json may meet it: list gives up on the
# provider soon (CTL_DOC_LIST_MS, 0.5 s), prints "-" and succeeds.  The
# bound, 4 s, is eight times that and still below the 5 s that list
# waited before (show's and metrics' wait): finishing is what is asserted,
# not how fast.
t_list_daemon_not_answering() {
	local pids st=0
	it_server main 3600 || return 1
	post_sf=$(tc_secret post "$POST_SECRET")
	tc_config
	tc_cred opaque-post "$PORT_main" it-post "$post_sf"
	tc_daemon_start || { cat "$WORK/daemon.log"; return 1; }
	token_of opaque-post "$WORK/t1" || return 1
	pids="$DAEMON_PID $(tc_worker_pid)"
	# shellcheck disable=SC2086
	kill -STOP $pids || return 1
	timeout 4 "$CTL" --runtime-dir "$WORK/run" list >"$WORK/l1" 2>"$WORK/l1.err" || st=$?
	[ "$st" = 0 ] && { timeout 4 "$CTL" --runtime-dir "$WORK/run" list --json >"$WORK/l.json" || st=$?; }
	# shellcheck disable=SC2086
	kill -CONT $pids
	expect_eq "$st" 0 "list's status with a daemon that does not answer (124: still waiting)" ||
	    { cat "$WORK/l1" "$WORK/l1.err"; return 1; }
	cat "$WORK/l1"
	grep -q "^opaque-post  *-  *valid " "$WORK/l1" || { echo "provider not '-'"; return 1; }
	expect_eq "$(tc_json "$WORK/l.json" 'j[0].provider')" null "provider in JSON" || return 1
}

tc_scenario t_list_daemon_not_answering "list with a daemon that accepts but does not answer: done soon, provider '-', exit 0"

# show's claims: for a user the credential allows, decoded from the real
# server's JWT (iss, aud, iat, exp in words), never the token, its
# signature or its parts; refused in one line for a user it does not
# allow; "not a JWT" for an opaque token.
t_show_claims() {
	local tok part
	it_server main 3600 || return 1
	P=$PORT_main
	post_sf=$(tc_secret post "$POST_SECRET")
	tc_config
	tc_cred jwt-acl "$P" it-post "$post_sf" "resource = urn:tokencache:test-api" \
	    "allow_users = tc-it-alice"
	tc_cred opaque-post "$P" it-post "$post_sf"
	tc_daemon_start || { cat "$WORK/daemon.log"; return 1; }
	token_of jwt-acl "$WORK/t1" || return 1
	token_of opaque-post "$WORK/t2" || return 1
	tok=$(cat "$WORK/t1")
	[ "$(tr -cd . <"$WORK/t1")" = ".." ] || { echo "the server's token is not a JWS"; return 1; }

	as_user tc-it-alice "$CTL" --runtime-dir "$WORK/run" show jwt-acl >"$WORK/s1" 2>&1 ||
	    { cat "$WORK/s1"; return 1; }
	cat "$WORK/s1"
	expect_grep "^claims: *JWT (alg RS256)$" "$WORK/s1" "claims" || return 1
	expect_grep "^  iss: *http://127.0.0.1:$P$" "$WORK/s1" "iss" || return 1
	expect_grep "^  aud: *urn:tokencache:test-api$" "$WORK/s1" "aud" || return 1
	expect_grep "^  iat: *20[0-9-]* [0-9:]* (\([0-9]*s ago\|now\))$" "$WORK/s1" "iat in words" || return 1
	expect_grep "^  exp: *20[0-9-]* [0-9:]* (in [0-9hms]*)$" "$WORK/s1" "exp in words" || return 1
	as_user tc-it-alice "$CTL" --runtime-dir "$WORK/run" show jwt-acl --json >"$WORK/s1.json" ||
	    { cat "$WORK/s1.json"; return 1; }
	expect_eq "$(tc_json "$WORK/s1.json" 'j.claims_status')" jwt "claims_status" || return 1
	expect_eq "$(tc_json "$WORK/s1.json" 'j.claims.aud')" urn:tokencache:test-api "claims.aud" || return 1
	# The daemon counts the lifetime from when it sent the request, the
	# server from when it answered: a second or so apart.
	expect_eq "$(tc_json "$WORK/s1.json" 'Math.abs(j.claims.exp - j.expires_at) <= 2')" true \
	    "claims.exp is the token's expiry" || return 1

	as_user tc-it-dave "$CTL" --runtime-dir "$WORK/run" show jwt-acl >"$WORK/s2" 2>&1 ||
	    { cat "$WORK/s2"; echo "show failed for a user the credential does not allow"; return 1; }
	cat "$WORK/s2"
	expect_eq "$(grep -c '^claims:\|^  iss:\|^  exp:' "$WORK/s2")" 1 "one claims line for dave" || return 1
	expect_grep "^claims: *not shown: this user may not read jwt-acl's token$" "$WORK/s2" "refusal" || return 1
	as_user tc-it-dave "$CTL" --runtime-dir "$WORK/run" show jwt-acl --json >"$WORK/s2.json" || return 1
	expect_eq "$(tc_json "$WORK/s2.json" 'j.claims_status + " " + j.claims')" "denied null" "dave's JSON" || return 1

	ctl show opaque-post >"$WORK/s3" || return 1
	expect_grep "^claims: *not a JWT$" "$WORK/s3" "opaque" || return 1
	ctl show opaque-post --json >"$WORK/s3.json" || return 1

	# Never the token, its signature, its header or its payload as sent.
	for part in "$tok" "${tok##*.}" "${tok%%.*}" "$(echo "$tok" | cut -d. -f2)" \
	    "$(cat "$WORK/t2")"; do
		[ -n "$part" ] || continue
		if grep -qF -- "$part" "$WORK"/s1 "$WORK"/s1.json "$WORK"/s2 \
		    "$WORK"/s2.json "$WORK"/s3 "$WORK"/s3.json; then
			echo "show printed a part of a token: ${part:0:12}..."; return 1
		fi
	done
}

tc_scenario t_show_claims "show: JWT claims for an allowed user, one line of refusal for another, 'not a JWT' for an opaque token; never the token or its signature" root

# show's history and the server's error: a token, then an outage on the
# fault server (503 temporarily_unavailable, "outage") for a refresh;
# the attempts in order with outcome, status and latency.
t_show_history() {
	it_fault_server || return 1
	post_sf=$(tc_secret post "$POST_SECRET")
	tc_config "refresh_min_interval = 0"
	tc_cred jwt-fault "$PF/jwt?ttl=3600" it-post "$post_sf"
	tc_cred refused "$PF/status?code=400" it-post "$post_sf"
	tc_daemon_start || { cat "$WORK/daemon.log"; return 1; }
	token_of jwt-fault "$WORK/t1" || return 1
	tc_server_ctl "$PF" "/_outage?on=1" || return 1
	ctl refresh jwt-fault --timeout 10 >/dev/null 2>&1 && { echo "a refresh worked in an outage"; return 1; }
	ctl show jwt-fault >"$WORK/s1" || { cat "$WORK/s1"; return 1; }
	cat "$WORK/s1"
	expect_grep "^provider: *oauth2$" "$WORK/s1" "provider" || return 1
	# Its query stays private (it could carry what is not for every
	# user): the URL up to it.
	expect_grep "^token_url: *http://127.0.0.1:$PF/jwt$" "$WORK/s1" "token_url" || return 1
	expect_grep "^error: *temporarily_unavailable$" "$WORK/s1" "error" || return 1
	expect_grep "^error_description: *outage$" "$WORK/s1" "error_description" || return 1
	expect_grep "^attempts: " "$WORK/s1" "attempts" || return 1
	# The first attempt got the token, the last met the outage.
	grep -A20 '^attempts:' "$WORK/s1" | grep '^  20' >"$WORK/att"
	head -n1 "$WORK/att" | grep -q "\(ago\|now\))  *ok  *HTTP 200  *[0-9]* ms$" ||
	    { echo "first attempt not ok 200 with a latency"; return 1; }
	tail -n1 "$WORK/att" | grep -q "\(ago\|now\))  *transient  *HTTP 503  *[0-9]* ms  temporarily_unavailable: outage$" ||
	    { echo "last attempt not the outage's 503"; return 1; }
	# The token is still valid, and a JWT (unsigned: alg none).
	expect_grep "^claims: *JWT (alg none)$" "$WORK/s1" "claims" || return 1
	ctl show jwt-fault --json >"$WORK/s1.json" || return 1
	expect_eq "$(tc_json "$WORK/s1.json" '[j.error, j.error_description, j.error_http_status].join(" ")')" \
	    "temporarily_unavailable outage 503" "JSON error fields" || return 1
	expect_eq "$(tc_json "$WORK/s1.json" 'j.attempts.length >= 2 &&
	    j.attempts[0].outcome == "ok" && j.attempts.at(-1).http_status == 503 &&
	    Number.isInteger(j.attempts.at(-1).latency_ms)')" true "JSON attempts" || return 1

	wait_for 10 sh -c "'$CTL' --runtime-dir '$WORK/run' show refused | grep -q '^error_description: *injected 400'" ||
	    { ctl show refused; echo "refused: no error_description"; return 1; }
	ctl show refused >"$WORK/s2" || return 1
	expect_grep "^error: *invalid_request$" "$WORK/s2" "refused's error" || return 1
	expect_grep "^claims: *- (no valid token)$" "$WORK/s2" "refused's claims" || return 1
	grep -q "HTTP 400 .*invalid_request: injected 400$" "$WORK/s2" ||
	    { echo "refused: no attempt with its 400"; return 1; }
}

tc_scenario t_show_history "show: the server's error and error_description, the attempts with time, outcome, status and latency"

tc_main_if_run "${BASH_SOURCE[0]}" "$0"
