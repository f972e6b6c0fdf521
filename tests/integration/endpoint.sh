#!/usr/bin/env bash
# endpoint.sh - the local token endpoint (issue 11): OAuth token requests
# answered from the cache over loopback TCP (127.0.0.1 and ::1) and over
# runtime_dir/endpoint.socket, with curl and a raw client (rawhttp.cjs):
# the reply, the choice of credential, who may ask, bad requests, slow and
# broken callers, connection limits, waits, failures and min_lifetime.
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/endpoint.sh
#
# $(ep_url ...) is left unquoted on purpose: for the Unix socket it is
# curl's --unix-socket PATH before the URL.  PORT_NAME are set by eval.
# shellcheck disable=SC2046,SC2154
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RAWHTTP=$TOP/tests/integration/rawhttp.cjs
EP_REQ='grant_type=client_credentials&client_id=it-post'

# ep_start [DAEMON_LINE ...] [-- ENDPOINT_LINE ...]: the main file with
# the fast rates, DAEMON_LINEs, and an [endpoint] section listening on
# 127.0.0.1:$EP and [::1]:$EP6 (ports the kernel found free) with the
# ENDPOINT_LINEs; start the daemon.  A port taken by another scenario
# between the pick and the daemon's bind: pick again (five times).
ep_start() {
	local dl=() el=() i
	while [ $# -gt 0 ] && [ "$1" != -- ]; do dl+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	el=("$@")
	for i in 1 2 3 4 5; do
		EP=$(tc_free_port) && EP6=$(tc_free_port) ||
		    { echo "no free port"; return 1; }
		tc_config "$FAST_RATE" "$FAST_BURST" ${dl[@]+"${dl[@]}"} \
		    "[endpoint]" "listen = 127.0.0.1:$EP" "listen = [::1]:$EP6" \
		    ${el[@]+"${el[@]}"}
		tc_daemon_start && return 0
		tc_daemon_stop >/dev/null 2>&1
		if ! grep -q "Address already in use" "$WORK/daemon.log"; then
			cat "$WORK/daemon.log"
			echo "the daemon did not start"
			return 1
		fi
		mv "$WORK/daemon.log" "$WORK/daemon.log.port-taken.$i"
	done
	echo "no free port for the endpoint after 5 tries"
	return 1
}

# ep_curl OUT CURL_ARGS...: curl with the status line and headers (-i)
# into $WORK/OUT and the body alone into $WORK/OUT.body; as $EP_USER when
# set (the shell, root, writes the files).  ep_code OUT: the status;
# ep_hdr OUT NAME: a header's value; ep_j OUT EXPR: over the JSON body.
ep_curl() {
	local out=$WORK/$1 pre=()
	shift
	[ -n "${EP_USER:-}" ] && pre=(as_user "$EP_USER")
	${pre[@]+"${pre[@]}"} curl -sS -i --max-time 45 -H 'Expect:' "$@" \
	    >"$out" 2>"$out.err"
	sed '1,/^\r$/d' "$out" >"$out.body"
}
ep_code() {
	awk 'NR == 1 { print $2 }' "$WORK/$1"
}
ep_hdr() {
	sed -n '1,/^\r$/p' "$WORK/$1" | tr -d '\r' |
	    awk -v n="$2" 'BEGIN { n = tolower(n) ":" }
	        tolower($1) == n { sub(/^[^:]*: */, ""); print; exit }'
}
ep_j() {
	tc_json "$WORK/$1.body" "$2" 2>/dev/null || echo "(not JSON: $(head -c 200 "$WORK/$1.body"))"
}
# ep_post OUT WHERE [CURL_ARGS...]: POST $EP_REQ (unless CURL_ARGS give a
# body) to /oauth/token; WHERE is tcp, tcp6 or unix.
ep_url() {
	case $1 in
	tcp) echo "http://127.0.0.1:$EP$2" ;;
	tcp6) echo "http://[::1]:$EP6$2" ;;
	unix) echo "--unix-socket $WORK/run/endpoint.socket http://localhost$2" ;;
	esac
}
ep_post() {
	local out=$1 where=$2 data=(-d "$EP_REQ")
	shift 2
	case " $* " in *" -d "* | *" --data"* | *" -F "*) data=() ;; esac
	ep_curl "$out" ${data[@]+"${data[@]}"} "$@" $(ep_url "$where" /oauth/token)
}
# ep_expect OUT STATUS [ERROR]: the reply's status, and its JSON error.
ep_expect() {
	expect_eq "$(ep_code "$1")" "$2" "$1: status" || { cat "$WORK/$1" "$WORK/$1.err"; return 1; }
	if [ -n "${3:-}" ]; then
		expect_eq "$(ep_j "$1" j.error)" "$3" "$1: error" || return 1
		expect_eq "$(ep_j "$1" 'typeof j.error_description')" string \
		    "$1: error_description" || return 1
		expect_eq "$(ep_hdr "$1" Content-Type | cut -d';' -f1)" application/json \
		    "$1: Content-Type" || return 1
	fi
	return 0
}
# ep_token_ok OUT WANT MAX_LIFE: a 200 token reply (RFC 6749 §5.1) with the
# token WANT, as ctl token gives it.
ep_token_ok() {
	local e
	ep_expect "$1" 200 || return 1
	expect_eq "$(ep_hdr "$1" Content-Type | cut -d';' -f1)" application/json "$1: Content-Type" || return 1
	expect_eq "$(ep_hdr "$1" Cache-Control)" no-store "$1: Cache-Control" || return 1
	expect_eq "$(ep_j "$1" j.access_token)" "$2" "$1: access_token" || return 1
	expect_eq "$(ep_j "$1" j.token_type)" Bearer "$1: token_type" || return 1
	e=$(ep_j "$1" j.expires_in)
	expect_eq "$(ep_j "$1" "Number.isInteger(j.expires_in) && j.expires_in > 0 && j.expires_in <= $3")" \
	    true "$1: expires_in $e in 1..$3" || return 1
}
# ep_alive: the worker still runs and the endpoint still answers.
ep_alive() {
	kill -0 "$(tc_worker_pid)" 2>/dev/null || { echo "the daemon is gone"; tail -20 "$WORK/daemon.log"; return 1; }
	ep_post alive tcp || true
	expect_eq "$(ep_code alive)" 200 "a token request after $1" ||
	    { cat "$WORK/alive" "$WORK/alive.err"; tail -20 "$WORK/daemon.log"; return 1; }
}

# 1. The reply over each listener, as ctl token gives the token; HTTP
# Basic, JSON, a raw JS SDK form, the trailing slash, discovery; one
# upstream request for them all.
t_endpoint_basics() {
	it_server main 3600 || return 1
	it_fault_server || return 1
	local sf want wz w n
	sf=$(tc_secret post "$POST_SECRET")
	tc_cred a "$PORT_main" it-post "$sf"
	tc_cred zb "$PF/ok" it-zb "$sf" "audience = zeebe.camunda.io" "scope = a b"
	ep_start || return 1
	want=$(ctl token a --wait 15) || return 1
	wz=$(ctl token zb --wait 15) || return 1
	for w in tcp tcp6 unix; do
		ep_post "$w" "$w" || true
		ep_token_ok "$w" "$want" 3600 || return 1
		expect_eq "$(ep_j "$w" 'j.expires_in >= 3500')" true "$w: expires_in near 3600" || return 1
		ep_curl "$w-slash" -d "$EP_REQ" $(ep_url "$w" /oauth/token/) || true
		ep_token_ok "$w-slash" "$want" 3600 || return 1
		ep_curl "$w-basic" -u it-post:anything -d grant_type=client_credentials \
		    $(ep_url "$w" /oauth/token) || true
		ep_token_ok "$w-basic" "$want" 3600 || return 1
		ep_curl "$w-json" -H 'Content-Type: application/json' \
		    -d '{"grant_type":"client_credentials","client_id":"it-post","client_secret":"x"}' \
		    $(ep_url "$w" /oauth/token) || true
		ep_token_ok "$w-json" "$want" 3600 || return 1
		# The Camunda JS SDK's form: audience and scope not encoded.
		ep_curl "$w-raw" --data-binary \
		    'grant_type=client_credentials&client_id=it-zb&client_secret=s&audience=zeebe.camunda.io&scope=a b' \
		    $(ep_url "$w" /oauth/token) || true
		ep_token_ok "$w-raw" "$wz" 3600 || return 1
	done
	ep_curl disco $(ep_url tcp /.well-known/openid-configuration) || true
	ep_expect disco 200 || return 1
	expect_eq "$(ep_j disco j.token_endpoint)" "http://127.0.0.1:$EP/oauth/token" "discovery token_endpoint" || return 1
	ep_curl disco6 $(ep_url tcp6 /.well-known/openid-configuration) || true
	expect_eq "$(ep_j disco6 j.token_endpoint)" "http://[::1]:$EP6/oauth/token" "discovery over ::1" || return 1
	# A client that follows the document gets the token.
	ep_curl via-disco -d "$EP_REQ" "$(ep_j disco j.token_endpoint)" || true
	ep_token_ok via-disco "$want" 3600 || return 1
	for n in $(seq 1 20); do
		ep_post "more" tcp || true
		ep_token_ok more "$want" 3600 || return 1
	done
	# expires_in is what the token has left, as ctl show says it.
	ctl show a --json >"$WORK/a.json" || return 1
	ep_post last tcp || true
	n=$(( $(ep_j last j.expires_in) - $(tc_json "$WORK/a.json" j.expires_in) ))
	[ "$n" -ge -2 ] && [ "$n" -le 2 ] ||
	    { echo "expires_in $(ep_j last j.expires_in), ctl show's $(tc_json "$WORK/a.json" j.expires_in)"; return 1; }
	expect_eq "$(tc_stats "$PORT_main")" 1 "token requests the OAuth server saw" || return 1
	expect_eq "$(tc_fault_hits /ok | wc -l)" 1 "requests the fault server's /ok saw" || return 1
	# libmicrohttpd's messages go through the daemon's log, not its own
	# stderr printer (which it uses for options set before its logger).
	if grep -v '^tokencached: ' "$WORK/daemon.log" | grep -q .; then
		echo "lines in the daemon's log not from its logger:"
		grep -v '^tokencached: ' "$WORK/daemon.log" | head -5
		return 1
	fi
	if grep -q "is not the first option" "$WORK/daemon.log"; then
		grep "is not the first option" "$WORK/daemon.log"
		return 1
	fi
}

tc_scenario t_endpoint_basics "endpoint: ctl's token over 127.0.0.1, ::1 and the Unix socket; Basic, JSON, raw form, slash, discovery; one upstream request"

# 2. Which credential a request selects; the client secret is never
# needed, never logged.
t_endpoint_selection() {
	it_server main 3600 || return 1
	local sf tz to secret=ep-unique-secret-$RANDOM$RANDOM-zq
	sf=$(tc_secret post "$POST_SECRET")
	tc_cred za "$PORT_main" it-post "$sf" "audience = zeebe.camunda.io"
	tc_cred zb "$PORT_main" it-post "$sf" "audience = operate.camunda.io"
	ep_start || return 1
	tz=$(ctl token za --wait 15) || return 1
	to=$(ctl token zb --wait 15) || return 1
	expect_ne "$tz" "$to" "the two audiences' tokens" || return 1
	ep_post z tcp -d "$EP_REQ&audience=zeebe.camunda.io" || true
	ep_token_ok z "$tz" 3600 || return 1
	ep_post o unix -d "$EP_REQ&audience=operate.camunda.io" || true
	ep_token_ok o "$to" 3600 || return 1
	# No audience: the first by name (tokenreq.h).
	ep_post none tcp || true
	ep_token_ok none "$tz" 3600 || return 1
	ep_post unknown tcp -d 'grant_type=client_credentials&client_id=it-nobody' || true
	ep_expect unknown 401 invalid_client || return 1
	ep_post unknown-basic tcp -u it-nobody:x -d grant_type=client_credentials || true
	ep_expect unknown-basic 401 invalid_client || return 1
	expect_grep "^WWW-Authenticate: Basic" "$WORK/unknown-basic" "WWW-Authenticate after Basic" || return 1
	ep_post wrongaud tcp -d "$EP_REQ&audience=tasklist.camunda.io" || true
	ep_expect wrongaud 400 invalid_scope || return 1
	# Any secret, or none, in the body or in Basic.
	ep_post s1 tcp -d "$EP_REQ&audience=zeebe.camunda.io&client_secret=$secret" || true
	ep_token_ok s1 "$tz" 3600 || return 1
	ep_post s2 unix -u "it-post:$secret" -d 'grant_type=client_credentials&audience=operate.camunda.io' || true
	ep_token_ok s2 "$to" 3600 || return 1
	ep_post s3 tcp -H 'Content-Type: application/json' \
	    -d "{\"grant_type\":\"client_credentials\",\"client_id\":\"it-post\",\"client_secret\":\"$secret\"}" || true
	ep_token_ok s3 "$tz" 3600 || return 1
	ep_post s4 tcp -d "$EP_REQ&client_secret=$POST_SECRET" || true
	ep_token_ok s4 "$tz" 3600 || return 1
	# ... in a request refused, too.
	ep_post s5 tcp -d "grant_type=client_credentials&client_id=it-nobody&client_secret=$secret" || true
	ep_expect s5 401 invalid_client || return 1
	ep_post s6 tcp -d "grant_type=password&client_id=it-post&client_secret=$secret" || true
	ep_expect s6 400 unsupported_grant_type || return 1
	expect_eq "$(tc_stats "$PORT_main")" 2 "token requests the OAuth server saw" || return 1
	tc_daemon_stop || true
	if grep -qF -- "$secret" "$WORK/daemon.log"; then
		echo "the request's client secret is in the daemon's log:"
		grep -F -- "$secret" "$WORK/daemon.log"
		return 1
	fi
	if grep -qF -- "$POST_SECRET" "$WORK/daemon.log"; then
		echo "the real client secret is in the daemon's log"
		return 1
	fi
	for t in "$tz" "$to"; do
		grep -qF -- "$t" "$WORK/daemon.log" && { echo "a token in the daemon's log"; return 1; }
	done
	return 0
}

tc_scenario t_endpoint_selection "endpoint: client_id and audience select the credential; unknown 401, wrong audience 400; no secret needed or logged"

# 3. Who may ask: the kernel's word on who is at the other end, judged by
# allow_users and allow_groups as for the segment.
t_endpoint_access() {
	it_server main 3600 || return 1
	local sf ta tg w uid n
	sf=$(tc_secret post "$POST_SECRET")
	tc_cred acl "$PORT_main" it-post "$sf" "audience = zeebe.camunda.io" \
	    "allow_users = tc-it-alice"
	tc_cred grp "$PORT_main" it-post "$sf" "audience = operate.camunda.io" \
	    "allow_groups = tc-it-extra"
	ep_start || return 1
	ta=$(ctl token acl --wait 15) || return 1
	tg=$(ctl token grp --wait 15) || return 1
	local qa="$EP_REQ&audience=zeebe.camunda.io" qg="$EP_REQ&audience=operate.camunda.io"
	for w in tcp tcp6 unix; do
		EP_USER=tc-it-alice ep_post "alice-$w" "$w" -d "$qa" || true
		ep_token_ok "alice-$w" "$ta" 3600 || return 1
		EP_USER=tc-it-carol ep_post "carol-$w" "$w" -d "$qg" || true
		ep_token_ok "carol-$w" "$tg" 3600 || return 1
		ep_post "root-a-$w" "$w" -d "$qa" || true
		ep_token_ok "root-a-$w" "$ta" 3600 || return 1
		ep_post "root-g-$w" "$w" -d "$qg" || true
		ep_token_ok "root-g-$w" "$tg" 3600 || return 1
		uid=$(id -u tc-it-bob)
		EP_USER=tc-it-bob ep_post "bob-$w" "$w" -d "$qa" || true
		ep_expect "bob-$w" 401 invalid_client || return 1
		expect_eq "$(ep_j "bob-$w" "j.error_description.includes('uid $uid')")" true \
		    "bob-$w: the description names uid $uid ($(ep_j "bob-$w" j.error_description))" || return 1
		grep -qF -- "$ta" "$WORK/bob-$w" && { echo "bob-$w: the token in a refusal"; return 1; }
		# alice is not in tc-it-extra.
		EP_USER=tc-it-alice ep_post "alice-g-$w" "$w" -d "$qg" || true
		ep_expect "alice-g-$w" 401 invalid_client || return 1
		EP_USER=tc-it-dave ep_post "dave-$w" "$w" -d "$qg" || true
		ep_expect "dave-$w" 401 invalid_client || return 1
	done
	uid=$(id -u tc-it-bob)
	n=$(grep -c "acl: denied endpoint to uid $uid " "$WORK/daemon.log")
	expect_eq "$n" 1 "log lines for bob's three denials within the minute" ||
	    { grep "denied" "$WORK/daemon.log"; return 1; }
	EP_USER=tc-it-bob ep_post bob-again tcp -d "$qa" || true
	ep_expect bob-again 401 invalid_client || return 1
	n=$(grep -c "acl: denied endpoint to uid $uid " "$WORK/daemon.log")
	expect_eq "$n" 1 "log lines after a fourth denial" || return 1
	expect_eq "$(grep -c "grp: denied endpoint to uid $(id -u tc-it-dave) " "$WORK/daemon.log")" 1 \
	    "dave's denials logged once" || return 1
	expect_eq "$(tc_stats "$PORT_main")" 2 "token requests the OAuth server saw" || return 1
}

tc_scenario t_endpoint_access "endpoint: allow_users/allow_groups over TCP, ::1 and the Unix socket; others 401 naming the uid, logged once" root

# 4. Bad requests: each a 4xx with an RFC 6749 §5.2 error, and the daemon
# serves on.
t_endpoint_bad() {
	it_server main 3600 || return 1
	local sf want big n
	sf=$(tc_secret post "$POST_SECRET")
	tc_cred a "$PORT_main" it-post "$sf"
	ep_start || return 1
	want=$(ctl token a --wait 15) || return 1
	ep_curl get $(ep_url tcp /oauth/token) || true
	ep_expect get 405 invalid_request || return 1
	expect_eq "$(ep_hdr get Allow)" POST "405: Allow" || return 1
	ep_curl put -X PUT -d "$EP_REQ" $(ep_url unix /oauth/token) || true
	ep_expect put 405 invalid_request || return 1
	ep_curl nopath -d "$EP_REQ" $(ep_url tcp /oauth/tokens) || true
	ep_expect nopath 404 invalid_request || return 1
	ep_curl nopath2 $(ep_url unix /) || true
	ep_expect nopath2 404 invalid_request || return 1
	ep_post password tcp -d 'grant_type=password&client_id=it-post&username=u&password=p' || true
	ep_expect password 400 unsupported_grant_type || return 1
	ep_post nogrant tcp -d 'client_id=it-post' || true
	ep_expect nogrant 400 invalid_request || return 1
	ep_post twice tcp -d "$EP_REQ&client_id=it-post" || true
	ep_expect twice 400 invalid_request || return 1
	ep_post both tcp -u it-other:x -d "$EP_REQ" || true
	ep_expect both 400 invalid_request || return 1
	ep_post noclient tcp -d 'grant_type=client_credentials' || true
	ep_expect noclient 401 invalid_client || return 1
	ep_post badpct tcp -d 'grant_type=client_credentials&client_id=it%zzpost' || true
	ep_expect badpct 400 invalid_request || return 1
	ep_post badpct2 tcp -d 'grant_type=client_credentials&client_id=it-post%2' || true
	ep_expect badpct2 400 invalid_request || return 1
	ep_post ctrl tcp -d 'grant_type=client_credentials&client_id=it%00post' || true
	ep_expect ctrl 400 invalid_request || return 1
	ep_post ctype tcp -H 'Content-Type: text/plain' -d "$EP_REQ" || true
	ep_expect ctype 400 invalid_request || return 1
	ep_post badjson tcp -H 'Content-Type: application/json' -d '{"grant_type":"client_credentials",' || true
	ep_expect badjson 400 invalid_request || return 1
	ep_post jsontype tcp -H 'Content-Type: application/json' -d '{"grant_type":"client_credentials","client_id":7}' || true
	ep_expect jsontype 400 invalid_request || return 1
	ep_post badbasic tcp -H 'Authorization: Basic !!!notbase64' -d grant_type=client_credentials || true
	ep_expect badbasic 401 invalid_client || return 1
	ep_post bearer tcp -H 'Authorization: Bearer abc' -d "$EP_REQ" || true
	ep_expect bearer 401 invalid_client || return 1
	# A body over TREQ_BODY_MAX (16384): 413.
	{ printf '%s&pad=' "$EP_REQ"; head -c 17000 /dev/zero | tr '\0' a; } >"$WORK/big.body"
	ep_post bigbody tcp --data-binary "@$WORK/big.body" || true
	ep_expect bigbody 413 invalid_request || return 1
	ep_post bigbody-unix unix --data-binary "@$WORK/big.body" || true
	ep_expect bigbody-unix 413 invalid_request || return 1
	# Exactly 16384 is still read.
	# (values at most 4096 bytes each: six pads)
	{
		printf '%s' "$EP_REQ"
		for n in 1 2 3 4 5; do printf '&p%s=' "$n"; head -c 3000 /dev/zero | tr '\0' a; done
		printf '&p6='; head -c $((16384 - ${#EP_REQ} - 5 * 3004 - 4)) /dev/zero | tr '\0' a
	} >"$WORK/edge.body"
	expect_eq "$(stat -c %s "$WORK/edge.body")" 16384 "edge body size" || return 1
	ep_post edgebody tcp --data-binary "@$WORK/edge.body" || true
	ep_token_ok edgebody "$want" 3600 || return 1
	ep_alive "the bodies" || return 1
	# Request line and headers over HTTP_MEMORY (32 KiB): whatever
	# libmicrohttpd answers, a 4xx, or the connection closed.
	big=$(head -c 40000 /dev/zero | tr '\0' b)
	ep_post bighdr tcp -H "X-Big: $big" || true
	case $(ep_code bighdr) in
	4[0-9][0-9]) ;;
	*) echo "headers over 32 KiB: status '$(ep_code bighdr)', expected a 4xx"; cat "$WORK/bighdr.err"; head -c 300 "$WORK/bighdr"; return 1 ;;
	esac
	ep_post bigurl unix -H "X-A: $big" -H "X-B: $big" || true
	case $(ep_code bigurl) in
	4[0-9][0-9]) ;;
	*) echo "80 KB of headers: status '$(ep_code bigurl)', expected a 4xx"; return 1 ;;
	esac
	ep_alive "huge headers" || return 1
	# Not HTTP at all: a 400 and the connection closed, or closed; at
	# the latest by the 10 s cut-off (libmicrohttpd 0.9.75 neither
	# answers nor closes some byte strings that begin with a NUL).
	local g i=0 pids=() st ms
	for g in 'w:\x00\x01\x02\xff\xfe garbage \x16\x03\x01\r\n\r\n' 'w:garbage\r\n\r\n' \
	    'w:\x01\x02\x03\r\n\r\n' 'w:GET / HTTP/9.9\r\nHost: x\r\n\r\n' \
	    'w:POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n' \
	    'w:\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03abcdefghabcdefghabcdefghabcdefgh\x00\x00\x02\x13\x01\x01\x00'; do
		i=$((i + 1))
		printf '%s\n' "$g" >"$WORK/garbage.$i.in"
		node "$RAWHTTP" "$EP" 16000 "$g" >"$WORK/garbage.$i.out" 2>"$WORK/garbage.$i.err" &
		pids+=($!)
		i=$((i + 1))
		printf '%s\n' "$g" >"$WORK/garbage.$i.in"
		node "$RAWHTTP" "$WORK/run/endpoint.socket" 16000 "$g" >"$WORK/garbage.$i.out" 2>"$WORK/garbage.$i.err" &
		pids+=($!)
	done
	# ... meanwhile the others are served.
	ep_alive "garbage sent" || return 1
	for p in "${pids[@]}"; do wait "$p" || true; done
	for n in $(seq 1 "$i"); do
		st=$(tail -n1 "$WORK/garbage.$n.err")
		ms=${st#* }
		case $st in
		closed\ *) ;;
		*) echo "garbage $(cat "$WORK/garbage.$n.in"): not closed after 16 s ($st)"; return 1 ;;
		esac
		[ "$ms" -le 15000 ] || { echo "garbage $n: closed after $ms ms"; return 1; }
		if [ -s "$WORK/garbage.$n.out" ]; then
			head -n1 "$WORK/garbage.$n.out" | grep -aq '^HTTP/1.1 4\|^HTTP/1.1 505' ||
			    { echo "garbage $n: $(head -n1 "$WORK/garbage.$n.out")"; return 1; }
		fi
		echo "garbage $n ($(head -c 24 "$WORK/garbage.$n.in")...): $(head -n1 "$WORK/garbage.$n.out" | tr -d '\r') closed after $ms ms"
	done
	# HTTP/1.0 and a missing Host (strict HTTP/1.1): an answer, not a hang.
	node "$RAWHTTP" "$EP" 10000 "w:POST /oauth/token HTTP/1.1\r\nContent-Length: ${#EP_REQ}\r\n\r\n$EP_REQ" \
	    >"$WORK/nohost.out" 2>"$WORK/nohost.err" || return 1
	expect_grep "^HTTP/1.1 [24]" "$WORK/nohost.out" "reply without Host" || { cat "$WORK/nohost.err"; return 1; }
	ep_alive "malformed HTTP" || return 1
	grep -qF -- "$want" "$WORK/daemon.log" && { echo "the token in the log"; return 1; }
	expect_eq "$(tc_stats "$PORT_main")" 1 "token requests the OAuth server saw" || return 1
}

tc_scenario t_endpoint_bad "endpoint: wrong method, path, grant, fields, encodings, types; huge body and headers; garbage: 4xx, daemon serves on"

# 5. Slow and broken callers: a silent one and a trickling one are cut
# off after HTTP_FIRST_NS / HTTP_SEND_NS (10 s); one that hangs up
# mid-request disturbs nobody; pipelined requests are answered in order.
t_endpoint_slow() {
	it_server main 3600 || return 1
	local sf want ms n st p1 p2 p3 p4 req
	sf=$(tc_secret post "$POST_SECRET")
	tc_cred a "$PORT_main" it-post "$sf"
	ep_start || return 1
	want=$(ctl token a --wait 15) || return 1
	# All at once: they must not hold each other up.
	node "$RAWHTTP" "$EP" 20000 >"$WORK/silent.out" 2>"$WORK/silent.err" &
	p1=$!
	node "$RAWHTTP" "$WORK/run/endpoint.socket" 20000 >"$WORK/silent-unix.out" 2>"$WORK/silent-unix.err" &
	p2=$!
	node "$RAWHTTP" "$EP" 20000 'w:POST /oauth/token HTTP/1.1\r\n' m \
	    'd:1000:Host: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Slow: 012345678901234567890123456789\r\n' \
	    >"$WORK/trickle.out" 2>"$WORK/trickle.err" &
	p3=$!
	node "$RAWHTTP" "$WORK/run/endpoint.socket" 20000 'w:POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n' m \
	    'd:1000:grant_type=client_credentials&client_id=it-post&padding=0123456789012345678901234567890123456789' \
	    >"$WORK/trickle-body.out" 2>"$WORK/trickle-body.err" &
	p4=$!
	sleep 1
	# Hung up mid-request: in the headers, in the body, while suspended.
	for n in 1 2 3; do
		node "$RAWHTTP" "$EP" 1000 'w:POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Le' c \
		    >/dev/null 2>&1 || true
		node "$RAWHTTP" "$EP" 1000 "w:POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\ngrant_type=client" c \
		    >/dev/null 2>&1 || true
		node "$RAWHTTP" "$WORK/run/endpoint.socket" 1000 "w:POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: ${#EP_REQ}\r\n\r\n$EP_REQ" c \
		    >/dev/null 2>&1 || true
	done
	# Meanwhile the others are served.
	for n in 1 2 3 4 5; do
		ep_post "during-$n" tcp --max-time 5 || true
		ep_token_ok "during-$n" "$want" 3600 || return 1
		ep_post "during-unix-$n" unix --max-time 5 || true
		ep_token_ok "during-unix-$n" "$want" 3600 || return 1
	done
	for p in "$p1" "$p2" "$p3" "$p4"; do wait "$p" || { echo "rawhttp failed"; return 1; }; done
	for n in silent silent-unix trickle trickle-body; do
		st=$(tail -n1 "$WORK/$n.err")
		ms=${st#* }
		case $st in
		closed\ *) ;;
		*) echo "$n: not closed by the daemon after 20 s ($st)"; return 1 ;;
		esac
		[ "$ms" -ge 5000 ] && [ "$ms" -le 15000 ] ||
		    { echo "$n: closed after $ms ms, expected about 10000 (5000..15000)"; return 1; }
		echo "$n: closed after $ms ms"
	done
	# A trickler gets no reply, and the silent ones none either.
	[ -s "$WORK/silent.out" ] && { echo "a reply to a silent client"; return 1; }
	grep -q "^HTTP/1.1 200" "$WORK/trickle.out" && { echo "a 200 to a request never finished"; return 1; }
	# Pipelined: three requests in one write, answered in order.
	req="POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${#EP_REQ}\r\n\r\n$EP_REQ"
	req="${req}GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
	req="${req}GET /.well-known/openid-configuration HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	for w in "$EP" "$WORK/run/endpoint.socket"; do
		node "$RAWHTTP" "$w" 10000 "w:$req" >"$WORK/pipe.out" 2>"$WORK/pipe.err" || return 1
		expect_eq "$(grep -a '^HTTP/1.1' "$WORK/pipe.out" | awk '{ print $2 }' | tr '\n' ' ')" \
		    "200 404 200 " "pipelined statuses ($w)" || { cat "$WORK/pipe.out"; return 1; }
		grep -a -o '"access_token":"[^"]*"\|"error":"[^"]*"\|"token_endpoint"' "$WORK/pipe.out" |
		    tr '\n' ' ' >"$WORK/pipe.order"
		expect_eq "$(cat "$WORK/pipe.order")" "\"access_token\":\"$want\" \"error\":\"invalid_request\" \"token_endpoint\" " \
		    "pipelined replies in order ($w)" || return 1
		expect_grep "^closed" "$WORK/pipe.err" "Connection: close honoured ($w)" || return 1
	done
	# Keep-alive: three requests on one connection (curl reuses it).
	ep_curl keep -v -d "$EP_REQ" "http://127.0.0.1:$EP/oauth/token?n=[1-3]" || true
	expect_eq "$(grep -c '^HTTP/1.1 200' "$WORK/keep")" 3 "keep-alive replies" || return 1
	expect_eq "$(grep -ci 're-using existing connection' "$WORK/keep.err")" 2 \
	    "requests on the kept connection" || return 1
	ep_alive "slow and broken callers" || return 1
	expect_eq "$(tc_stats "$PORT_main")" 1 "token requests the OAuth server saw" || return 1
}

tc_scenario t_endpoint_slow "endpoint: silent and trickling callers cut off at ~10 s, hang-ups harmless, pipelined replies in order"

# 6. max_connections_per_user: a user's connections beyond it are closed
# at once; the first ones stay usable; root is not held to it.
t_endpoint_conn_limit() {
	it_server main 3600 || return 1
	local sf req w
	sf=$(tc_secret post "$POST_SECRET")
	tc_cred a "$PORT_main" it-post "$sf" "allow_users = tc-it-alice"
	ep_start -- "max_connections_per_user = 2" || return 1
	ctl token a --wait 15 >/dev/null || return 1
	req="POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${#EP_REQ}\r\n\r\n$EP_REQ"
	for w in "$EP" "$WORK/run/endpoint.socket"; do
		as_user tc-it-alice node "$RAWHTTP" conns "$w" 3 "$req" >"$WORK/alice.out" 2>&1 ||
		    { cat "$WORK/alice.out"; return 1; }
		expect_eq "$(tr '\n' '|' <"$WORK/alice.out")" \
		    "conn 1: open|conn 2: open|conn 3: closed|conn 1: HTTP/1.1 200 OK|conn 2: HTTP/1.1 200 OK|" \
		    "alice's three connections to $w" || return 1
		# Her places are free again once she has gone.
		sleep 0.5
		EP_USER=tc-it-alice ep_curl "alice-after" -d "$EP_REQ" $(ep_url tcp /oauth/token) || true
		ep_expect alice-after 200 || return 1
	done
	node "$RAWHTTP" conns "$EP" 6 "$req" >"$WORK/root.out" 2>&1 || { cat "$WORK/root.out"; return 1; }
	expect_eq "$(grep -c ': open$' "$WORK/root.out")" 6 "root's connections open" || { cat "$WORK/root.out"; return 1; }
	expect_eq "$(grep -c ': HTTP/1.1 200 OK$' "$WORK/root.out")" 6 "root's replies" || return 1
	expect_grep "denied connection to uid $(id -u tc-it-alice)" "$WORK/daemon.log" "the refusal logged" || return 1
	# The per-user rate (100/s after a burst of 200): 600 requests on
	# one connection as fast as curl sends them meet a 429; root never.
	EP_USER=tc-it-alice ep_curl rate -d "$EP_REQ" "http://127.0.0.1:$EP/oauth/token?n=[1-600]" || true
	expect_eq "$(grep -c '^HTTP/1.1 429' "$WORK/rate")" "$(grep -c '^HTTP/1.1 [^2]' "$WORK/rate")" \
	    "alice's replies are 200 or 429" || return 1
	[ "$(grep -c '^HTTP/1.1 200' "$WORK/rate")" -ge 200 ] || { echo "fewer than the burst served"; return 1; }
	[ "$(grep -c '^HTTP/1.1 429' "$WORK/rate")" -ge 1 ] || { echo "no 429 in 600 requests"; return 1; }
	expect_grep "^Retry-After: 1" "$WORK/rate" "429's Retry-After" || return 1
	expect_grep '"too many requests' "$WORK/rate" "429's description" || return 1
	ep_curl rate-root -d "$EP_REQ" "http://127.0.0.1:$EP/oauth/token?n=[1-600]" || true
	expect_eq "$(grep -c '^HTTP/1.1 200' "$WORK/rate-root")" 600 "root's 600 replies" || return 1
}

tc_scenario t_endpoint_conn_limit "endpoint: max_connections_per_user = 2: a third connection closed at once, the two served; 429 past the rate; root not limited" root

# 7a. No valid token while the server fails: 503 with Retry-After and the
# reason, never an expired token.
t_endpoint_unavailable() {
	it_fault_server || return 1
	local sf ra tok
	sf=$(tc_secret post "$POST_SECRET")
	tc_cred down "$PF/status?code=503" it-down "$sf"
	tc_cred j "$PF/jwt?ttl=6" it-j "$sf"
	ep_start || return 1
	ep_post down tcp -d 'grant_type=client_credentials&client_id=it-down' || true
	ep_expect down 503 temporarily_unavailable || return 1
	ra=$(ep_hdr down Retry-After)
	[[ $ra =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ] || { echo "Retry-After '$ra'"; return 1; }
	expect_eq "$(ep_j down "j.error_description.startsWith('down: ')")" true \
	    "the description names the credential: $(ep_j down j.error_description)" || return 1
	expect_eq "$(ep_j down "'access_token' in j")" false "no token in a 503" || return 1
	ep_post down-unix unix -d 'grant_type=client_credentials&client_id=it-down' || true
	ep_expect down-unix 503 temporarily_unavailable || return 1
	# A 6 s token, then an outage: served while valid, never after.
	tok=$(ctl token j --wait 15) || return 1
	tc_server_ctl "$PF" "/_outage?on=1" || return 1
	ep_post j1 tcp -d 'grant_type=client_credentials&client_id=it-j' || true
	ep_token_ok j1 "$tok" 6 || return 1
	sleep 7
	ep_post j2 tcp -d 'grant_type=client_credentials&client_id=it-j' || true
	ep_expect j2 503 temporarily_unavailable || return 1
	grep -qF -- "$tok" "$WORK/j2" && { echo "the expired token handed out"; return 1; }
	expect_grep "outage" "$WORK/j2.body" "the server's reason in the description" || return 1
	[ -n "$(ep_hdr j2 Retry-After)" ] || { echo "no Retry-After"; return 1; }
	tc_server_ctl "$PF" "/_outage?on=0" || return 1
	ep_post j3 tcp -d 'grant_type=client_credentials&client_id=it-j' || true
	ep_expect j3 200 || return 1
	expect_ne "$(ep_j j3 j.access_token)" "$tok" "the token after the outage" || return 1
	ep_token_ok j3 "$(ctl token j)" 6 || return 1
}

tc_scenario t_endpoint_unavailable "endpoint: a failing server: 503 temporarily_unavailable with Retry-After and the reason; never an expired token"

# 7b. 200 clients at once with no token yet: one upstream request, the
# same token for all.
t_endpoint_herd() {
	it_server main 3600 || return 1
	local sf want
	sf=$(tc_secret post "$POST_SECRET")
	tc_cred a "$PORT_main" it-post "$sf"
	# The daemon's first request, made as it starts, takes 3 s: the 200
	# arrive while it is under way.
	tc_server_ctl "$PORT_main" "/_delay?ms=3000" || return 1
	ep_start || return 1
	mkdir -p "$WORK/herd"
	# Some hang up while they wait (their requests suspended).
	local req="POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: ${#EP_REQ}\r\n\r\n$EP_REQ" i
	for i in 1 2 3 4 5; do
		node "$RAWHTTP" "$EP" 1000 "w:$req" s:$((i * 300)) c >/dev/null 2>&1 &
		node "$RAWHTTP" "$WORK/run/endpoint.socket" 1000 "w:$req" s:$((i * 300)) c >/dev/null 2>&1 &
	done
	curl -sS --parallel --parallel-immediate --parallel-max 200 --max-time 45 \
	    -d "$EP_REQ" "http://127.0.0.1:$EP/oauth/token?n=[1-200]" -o "$WORK/herd/r#1" \
	    -w '%{http_code} %{time_total}\n' >"$WORK/herd.codes" 2>"$WORK/herd.err" || true
	expect_eq "$(grep -c '^200 ' "$WORK/herd.codes")" 200 "replies 200" ||
	    { sort "$WORK/herd.codes" | uniq -c | head; head "$WORK/herd.err"; return 1; }
	want=$(ctl token a) || return 1
	local n
	n=$(cat "$WORK"/herd/r* | grep -o '"access_token":"[^"]*"' | sort | uniq -c | awk '{ print $1 }' | tr '\n' ' ')
	expect_eq "$n" "200 " "one token in all 200 replies" || return 1
	expect_grep "\"access_token\":\"$want\"" "$WORK/herd/r1" "the token" || return 1
	# They did wait for it (some took most of the 3 s).
	expect_eq "$(awk '$2 > 1.0 { n++ } END { print (n > 0) ? 1 : 0 }' "$WORK/herd.codes")" 1 \
	    "some waited for the first token" || return 1
	expect_eq "$(tc_stats "$PORT_main")" 1 "token requests the OAuth server saw" || return 1
	ep_alive "hang-ups while waiting" || return 1
	# And over the Unix socket, as one more herd with the token cached.
	curl -sS --parallel --parallel-immediate --parallel-max 100 --max-time 45 \
	    --unix-socket "$WORK/run/endpoint.socket" \
	    -d "$EP_REQ" "http://localhost/oauth/token?n=[1-100]" -o "$WORK/herd/u#1" \
	    -w '%{http_code}\n' >"$WORK/herd-unix.codes" 2>&1 || true
	expect_eq "$(grep -c '^200' "$WORK/herd-unix.codes")" 100 "Unix socket replies 200" || return 1
	expect_eq "$(tc_stats "$PORT_main")" 1 "token requests the OAuth server saw" || return 1
}

tc_scenario t_endpoint_herd "endpoint: 200 concurrent requests with no token yet: one upstream request, one token for all"

# 7c. Requests waiting for a token through a reload (each goes through
# the handler again) and a stop (each is dropped): no crash, no hang.
t_endpoint_waiters() {
	it_server main 3600 || return 1
	local sf want st p n
	sf=$(tc_secret post "$POST_SECRET")
	tc_cred a "$PORT_main" it-post "$sf"
	tc_server_ctl "$PORT_main" "/_delay?ms=3000" || return 1
	ep_start || return 1
	mkdir -p "$WORK/w"
	curl -sS --parallel --parallel-immediate --parallel-max 20 --max-time 45 \
	    -d "$EP_REQ" "http://127.0.0.1:$EP/oauth/token?n=[1-20]" -o "$WORK/w/r#1" \
	    -w '%{http_code}\n' >"$WORK/w.codes" 2>"$WORK/w.err" &
	p=$!
	sleep 1
	ctl reload >"$WORK/reload.out" 2>&1 || { cat "$WORK/reload.out"; return 1; }
	wait "$p" || true
	expect_eq "$(grep -c '^200' "$WORK/w.codes")" 20 "replies 200 across the reload" ||
	    { cat "$WORK/w.codes"; return 1; }
	want=$(ctl token a) || return 1
	n=$(cat "$WORK"/w/r* | grep -o '"access_token":"[^"]*"' | sort | uniq -c | awk '{ print $1 }' | tr '\n' ' ')
	expect_eq "$n" "20 " "one token in all 20 replies" || return 1
	expect_grep "\"access_token\":\"$want\"" "$WORK/w/r1" "the token" || return 1
	expect_eq "$(tc_stats "$PORT_main")" 1 "token requests the OAuth server saw" || return 1
	# A new credential whose first token takes 3 s; the daemon stopped
	# while 20 wait for it, over TCP and the Unix socket.
	tc_cred b "$PORT_main" it-fanout "$sf"
	ctl reload >"$WORK/reload.out" 2>&1 || { cat "$WORK/reload.out"; return 1; }
	wait_registered b || return 1
	curl -sS --parallel --parallel-immediate --parallel-max 10 --max-time 20 \
	    -d 'grant_type=client_credentials&client_id=it-fanout' \
	    "http://127.0.0.1:$EP/oauth/token?n=[1-10]" -w '%{http_code}\n' -o /dev/null \
	    >"$WORK/stop.codes" 2>"$WORK/stop.err" &
	p=$!
	curl -sS --parallel --parallel-immediate --parallel-max 10 --max-time 20 \
	    --unix-socket "$WORK/run/endpoint.socket" \
	    -d 'grant_type=client_credentials&client_id=it-fanout' \
	    "http://localhost/oauth/token?n=[1-10]" -w '%{http_code}\n' -o /dev/null \
	    >"$WORK/stop-unix.codes" 2>"$WORK/stop-unix.err" &
	sleep 1
	st=0
	tc_daemon_stop || st=$?
	expect_eq "$st" 0 "the daemon's exit status, stopped with requests waiting" ||
	    { tail -20 "$WORK/daemon.log"; return 1; }
	local t0=$SECONDS
	wait "$p" || true
	wait || true
	[ $((SECONDS - t0)) -le 10 ] || { echo "the waiting clients hung $((SECONDS - t0)) s after the stop"; return 1; }
	grep -q '^200' "$WORK/stop.codes" "$WORK/stop-unix.codes" &&
	    { echo "a token from a credential never fetched"; return 1; }
	echo "waiting clients at the stop, HTTP status (000: closed, no reply): $(sort "$WORK/stop.codes" "$WORK/stop-unix.codes" | uniq -c | tr -s ' \n' ' ')"
	return 0
}

tc_scenario t_endpoint_waiters "endpoint: requests waiting for a token survive a reload; a stop drops them, exit 0, no hang"

# 8. min_lifetime.  Default (60 s) with 8 s tokens: the floor is a fifth
# of the lifetime (1.6 s), so the tokens are served, refreshed only by
# the schedule.  min_lifetime = 5 with 30 s tokens (a fifth is 6 s, so
# the floor is 5 s): a token under 5 s left is not handed out while a
# refresh can be had.
t_endpoint_min_lifetime() {
	it_server short 8 || return 1
	it_fault_server || return 1
	local sf n e first
	sf=$(tc_secret post "$POST_SECRET")
	tc_cred s "$PORT_short" it-refresh "$sf"
	ep_start || return 1
	ctl token s --wait 15 >/dev/null || return 1
	for n in $(seq 1 10); do
		ep_post "s$n" tcp -d 'grant_type=client_credentials&client_id=it-refresh' || true
		ep_expect "s$n" 200 || return 1
		e=$(ep_j "s$n" j.expires_in)
		[ "$e" -ge 1 ] && [ "$e" -le 8 ] || { echo "s$n: expires_in $e not in 1..8"; return 1; }
		sleep 1
	done
	# The schedule refreshes an 8 s token every 5.6 to 6.4 s: in about
	# 10 s, 2 or 3 requests; a floor of 60 s would have made one a reply.
	n=$(tc_stats "$PORT_short")
	[ "$n" -le 4 ] || { echo "$n token requests in 10 s for 10 endpoint requests (floor not a fifth?)"; return 1; }
	tc_daemon_stop || true
	mv "$WORK/daemon.log" "$WORK/daemon.log.1"

	# min_lifetime = 5, with 30 s (n) and 40 s (m) tokens: a fifth of
	# them is over 5 s, so the floor is 5 s.  The outage keeps the
	# schedule from refreshing them, so that they age under the floor.
	tc_cred n "$PF/jwt?ttl=30" it-n "$sf"
	tc_cred m "$PF/jwt?ttl=40" it-m "$sf"
	# refresh_min_interval = 0: the request's refresh is not put off
	# because the schedule's failed a moment before.
	ep_start "refresh_min_interval = 0" -- "min_lifetime = 5" || return 1
	first=$(ctl token n --wait 15) || return 1
	ctl token m --wait 15 >"$WORK/m.first" || return 1
	tc_server_ctl "$PF" "/_outage?on=1" || return 1
	ep_post n1 tcp -d 'grant_type=client_credentials&client_id=it-n' || true
	ep_token_ok n1 "$first" 30 || return 1
	wait_json n 'j.expires_in <= 3' 40 || return 1
	cp "$WORK/wait.json" "$WORK/n.json"
	# Under the floor and the server down: the request waits for a
	# refresh that fails, but not past the point where the valid token
	# has a second left, and then gets it: a valid token, not a 503.
	ep_post n2 tcp -d 'grant_type=client_credentials&client_id=it-n' || true
	ep_expect n2 200 || { cat "$WORK/n.json"; return 1; }
	expect_eq "$(ep_j n2 j.access_token)" "$first" "n2: the valid token while the server is down" || return 1
	e=$(ep_j n2 j.expires_in)
	[ "$e" -lt 5 ] && [ "$e" -ge 1 ] || { echo "n2: expires_in $e, expected 1..4"; cat "$WORK/n.json"; return 1; }
	# Under the floor, still valid, the server back: requests start the
	# refresh and get the new token as soon as the daemon may send it
	# (after an outage the endpoint is probed on its own schedule, which
	# may come after the old token's end).  Until then each reply is the
	# old token, still valid, or, once it has expired, a 503: never an
	# expired token, and the new one in the end.
	wait_json m 'j.expires_in <= 3' 20 || return 1
	tc_server_ctl "$PF" "/_outage?on=0" || return 1
	ctl show m --json >"$WORK/m.json" || return 1
	e=$(tc_json "$WORK/m.json" j.expires_in)
	[ "$e" -ge 1 ] && [ "$e" -lt 5 ] ||
	    { echo "m was asked with the old token's expires_in at $e s, not under the floor"; return 1; }
	local end=$((SECONDS + 40)) got=
	while [ "$SECONDS" -le "$end" ]; do
		ep_post m3 tcp -d 'grant_type=client_credentials&client_id=it-m' || true
		case $(ep_code m3) in
		200)
			if [ "$(ep_j m3 j.access_token)" != "$(cat "$WORK/m.first")" ]; then
				got=$(ep_j m3 j.expires_in)
				break
			fi
			e=$(ep_j m3 j.expires_in)
			[ "$e" -ge 1 ] && [ "$e" -lt 5 ] ||
			    { echo "m3: the old token with expires_in $e"; return 1; }
			;;
		503) ep_expect m3 503 temporarily_unavailable || return 1 ;;
		*) ep_expect m3 200 || return 1 ;;
		esac
		sleep 0.5
	done
	[ -n "$got" ] || { echo "m3: no new token within 40 s of the server's return"; return 1; }
	[ "$got" -gt 5 ] || { echo "m3: the new token's expires_in $got, expected > 5"; return 1; }
	echo "m3 (server back): a new token, expires_in $got"
}

tc_scenario t_endpoint_min_lifetime "endpoint: min_lifetime: a fifth of short lifetimes by default; min_lifetime = 5: under it, a refresh"

tc_main_if_run "${BASH_SOURCE[0]}" "$0"
