#!/usr/bin/env bash
# metrics.sh - what the daemon counts: `tokencachectl metrics` (the
# Prometheus text format, parsed by promtool) against what the scenario
# caused, and the STATUS document (PROTO_OP_STATUS, JSON) with its ring of
# attempts.
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/metrics.sh
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# promtool, from Debian's prometheus package: installed, or unpacked by
# tests/deps.sh (which never installs the server or starts its service).
PROMTOOL=$(command -v promtool 2>/dev/null ||
    echo "${PROMTOOL_DIR:-/var/tmp/tokencache-promtool}/root/usr/bin/promtool")

# metric FILE SAMPLE: the value of the sample whose name and labels are
# SAMPLE exactly (as written: name{label="value",...}), or "none".
metric() {
	awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print "none" }' "$1"
}

# promtool_ok FILE: a real Prometheus parser reads it, and its linter finds
# nothing (names, units, _total on counters, HELP on every family).
promtool_ok() {
	[ -x "$PROMTOOL" ] || { echo "no promtool (sh tests/deps.sh unpacks it)"; return 1; }
	"$PROMTOOL" check metrics <"$1" >"$1.promtool" 2>&1 ||
	    { echo "promtool check metrics:"; cat "$1.promtool"; return 1; }
}

# status_doc FILE: the STATUS document, as tokencachectl gets it.
status_doc() {
	"$B/tests/tc-sockfuzz" doc "$WORK/run" 13 >"$1" || return 1
	jq -e 'type == "array"' "$1" >/dev/null ||
	    { echo "STATUS is not a JSON array:"; cat "$1"; return 1; }
}

# N refreshes and M denials, counted exactly; a reload keeps the counts
# of a credential that stays.
t_metrics_counts() {
	it_std || return 1
	wait_settled || return 1
	local n=3 m=5 i tok
	local ok='tokencache_refresh_requests_total{credential="opaque-post",outcome="ok"}'
	local cnt='tokencache_refresh_duration_seconds_count{credential="opaque-post"}'
	local inf='tokencache_refresh_duration_seconds_bucket{credential="opaque-post",le="+Inf"}'
	local den='tokencache_key_requests_total{credential="acl",result="denied"}'
	local gra='tokencache_key_requests_total{credential="acl",result="granted"}'
	local conns='tokencache_control_connections_total'
	ctl metrics >"$WORK/m0" || { echo "metrics failed"; return 1; }
	for i in $(seq 1 "$n"); do
		ctl refresh opaque-post >/dev/null || { echo "refresh $i failed"; return 1; }
	done
	as_user tc-it-dave "$B/tests/tc-sockfuzz" deny "$WORK/run" acl "$m" >"$WORK/deny.out" || return 1
	expect_grep "^deny: $m denied" "$WORK/deny.out" || return 1
	tok=$(ctl token acl) || return 1
	ctl metrics >"$WORK/m1" || { echo "metrics failed"; return 1; }
	expect_eq "$(( $(metric "$WORK/m1" "$ok") - $(metric "$WORK/m0" "$ok") ))" "$n" "refreshes counted ok" || return 1
	expect_eq "$(( $(metric "$WORK/m1" "$cnt") - $(metric "$WORK/m0" "$cnt") ))" "$n" "latencies observed" || return 1
	expect_eq "$(metric "$WORK/m1" "$inf")" "$(metric "$WORK/m1" "$cnt")" "+Inf bucket = count" || return 1
	expect_eq "$(( $(metric "$WORK/m1" "$den") - $(metric "$WORK/m0" "$den") ))" "$m" "denials counted" || return 1
	expect_eq "$(( $(metric "$WORK/m1" "$gra") - $(metric "$WORK/m0" "$gra") ))" 1 "grants counted" || return 1
	# m key requests, a token, n refreshes and the first metrics: each a
	# connection of its own.
	[ "$(( $(metric "$WORK/m1" "$conns") - $(metric "$WORK/m0" "$conns") ))" -ge "$((n + m + 2))" ] ||
	    { echo "connections: $(metric "$WORK/m0" "$conns") -> $(metric "$WORK/m1" "$conns")"; return 1; }
	expect_eq "$(metric "$WORK/m1" 'tokencache_credential_info{credential="opaque-post",provider="oauth2"}')" 1 "credential_info" || return 1
	[ "$(metric "$WORK/m1" 'tokencache_token_expiry_seconds{credential="opaque-post"}')" -gt 3000 ] ||
	    { echo "expiry of opaque-post"; grep expiry "$WORK/m1"; return 1; }
	[ "$(metric "$WORK/m1" 'tokencache_credential_consecutive_failures{credential="wrong-secret"}')" -ge 1 ] ||
	    { echo "wrong-secret's failures not counted"; grep wrong-secret "$WORK/m1"; return 1; }
	[ "$(metric "$WORK/m1" 'tokencache_refresh_requests_total{credential="wrong-secret",outcome="permanent"}')" -ge 1 ] ||
	    { echo "wrong-secret's permanent failure not counted"; return 1; }
	expect_eq "$(metric "$WORK/m1" 'tokencache_last_success_timestamp_seconds{credential="wrong-secret"}')" none "no success yet" || return 1
	promtool_ok "$WORK/m1" || return 1
	grep -qF -- "$tok" "$WORK/m1" && { echo "a token in the metrics"; return 1; }
	grep -qF -- "$POST_SECRET" "$WORK/m1" && { echo "a secret in the metrics"; return 1; }
	# Anyone may read them, as anyone may list.
	as_user tc-it-dave "$CTL" --runtime-dir "$WORK/run" metrics >"$WORK/m-dave" ||
	    { echo "dave may not read the metrics"; return 1; }
	# A reload keeps the counts of a credential that stays.
	ctl reload >/dev/null || return 1
	ctl metrics >"$WORK/m2" || return 1
	expect_eq "$(metric "$WORK/m2" "$ok")" "$(metric "$WORK/m1" "$ok")" "ok count after reload" || return 1
	expect_eq "$(metric "$WORK/m2" "$den")" "$(metric "$WORK/m1" "$den")" "denials after reload" || return 1
}

tc_scenario t_metrics_counts "metrics: N refreshes and M denials counted exactly, promtool parses them, a reload keeps them" root

# A 429 with Retry-After is rate_limited and holds its endpoint; an RFC
# 6749 error reply shows its code and description in STATUS.
t_metrics_rate_limited() {
	it_fault_server || return 1
	post_sf=$(tc_secret post "$POST_SECRET")
	tc_config "$FAST_RATE" "$FAST_BURST"
	tc_cred r-429 "$PF/status?code=429&after=60" it-post "$post_sf" "timeout = 2"
	tc_cred r-400 "$PF/status?code=400" it-post "$post_sf" "timeout = 2"
	tc_cred good "$PF/ok" it-post "$post_sf" "timeout = 2"
	tc_daemon_start || return 1
	wait_settled || return 1
	ctl metrics >"$WORK/m" || { echo "metrics failed"; return 1; }
	cat "$WORK/m"
	expect_eq "$(metric "$WORK/m" 'tokencache_refresh_requests_total{credential="r-429",outcome="rate_limited"}')" 1 "r-429 rate_limited" || return 1
	expect_eq "$(metric "$WORK/m" 'tokencache_refresh_requests_total{credential="r-429",outcome="transient"}')" 0 "r-429 transient" || return 1
	expect_eq "$(metric "$WORK/m" 'tokencache_refresh_requests_total{credential="r-400",outcome="permanent"}')" 1 "r-400 permanent" || return 1
	expect_eq "$(metric "$WORK/m" "tokencache_endpoint_retry_after_holds_total{endpoint=\"http://127.0.0.1:$PF/status\"}")" 1 "Retry-After holds" || return 1
	expect_eq "$(metric "$WORK/m" "tokencache_endpoint_retry_after_holds_total{endpoint=\"http://127.0.0.1:$PF/ok\"}")" 0 "no hold on /ok" || return 1
	grep -q 'code=429' "$WORK/m" && { echo "a query string in a label"; return 1; }
	promtool_ok "$WORK/m" || return 1

	status_doc "$WORK/s.json" || return 1
	jq . "$WORK/s.json"
	jq -e '(.[] | select(.name == "r-429")) as $c |
	    $c.requests.rate_limited == 1 and $c.consecutive_failures == 1 and
	    $c.last_success_at == null and ($c.attempts | length) == 1 and
	    $c.attempts[0].outcome == "rate_limited" and
	    $c.attempts[0].http_status == 429 and
	    $c.attempts[0].error == "slow_down" and
	    $c.attempts[0].error_description == "injected 429" and
	    ($c.attempts[0].latency_ms | type) == "number" and
	    $c.provider == "oauth2" and ($c.token_url | endswith("/status"))' \
	    "$WORK/s.json" >/dev/null || { echo "r-429's status"; return 1; }
	jq -e '(.[] | select(.name == "r-400")) as $c |
	    $c.last_error.error == "invalid_request" and
	    $c.last_error.error_description == "injected 400" and
	    $c.last_error.http_status == 400 and
	    $c.requests.permanent == 1 and $c.requests.ok == 0' \
	    "$WORK/s.json" >/dev/null || { echo "r-400's last_error"; return 1; }
	jq -e '(.[] | select(.name == "good")) as $c |
	    $c.last_error == null and $c.requests.ok == 1 and
	    $c.generation >= 1 and ($c.last_success_at | type) == "number" and
	    $c.attempts[0].error == null' \
	    "$WORK/s.json" >/dev/null || { echo "good's status"; return 1; }
	# One document per connection: a second request cuts it off.
	"$B/tests/tc-sockfuzz" doc "$WORK/run" 12 again >/dev/null || return 1
}

tc_scenario t_metrics_rate_limited "metrics: a 429 with Retry-After counts as rate_limited and a hold; STATUS shows error and error_description"

# http_get URL OUT: GET with node (no curl in the test dependencies): the
# status and Content-Type on the first line of OUT, the body after.
http_get() {
	node -e '
		const [url] = process.argv.slice(1);
		fetch(url).then(async (r) => {
			process.stdout.write(`${r.status} ${r.headers.get("content-type")}\n`);
			process.stdout.write(await r.text());
		}).catch((e) => { console.error(e.message); process.exit(1); });
	' "$1" >"$2"
}

# metrics_textfile: written whole (renamed into place, no temporary file
# left), kept up to date; GET /metrics on the local endpoint.
t_metrics_textfile_http() {
	it_fault_server || return 1
	post_sf=$(tc_secret post "$POST_SECRET")
	local port f=$WORK/textfile/tokencache.prom ok
	port=$(tc_free_port) || return 1
	# The worker's user (the daemon drops privileges as root) must be
	# able to write there, as the directory of node_exporter's collector.
	mkdir -m 0777 "$WORK/textfile"
	tc_config "$FAST_RATE" "$FAST_BURST" "refresh_min_interval = 0" \
	    "metrics_textfile = $f" "metrics_interval = 1" \
	    "[endpoint]" "listen = 127.0.0.1:$port"
	tc_cred good "$PF/ok" it-post "$post_sf" "timeout = 2"
	tc_daemon_start || return 1
	wait_settled || return 1
	wait_for 5 test -s "$f" || { echo "no $f"; cat "$WORK/daemon.log"; return 1; }
	promtool_ok "$f" || return 1
	ok='tokencache_refresh_requests_total{credential="good",outcome="ok"}'
	# Written first at start, before the fetch ended: then each second.
	wait_for 5 eval '[ "$(metric "$f" "$ok")" = 1 ]' ||
	    { echo "ok in the textfile: $(metric "$f" "$ok")"; return 1; }
	ctl refresh good >/dev/null || return 1
	wait_for 5 eval '[ "$(metric "$f" "$ok")" = 2 ]' ||
	    { echo "the textfile was not updated: $(metric "$f" "$ok")"; return 1; }
	ls -a "$WORK/textfile" >"$WORK/textfile.ls"
	expect_eq "$(grep -c tmp "$WORK/textfile.ls")" 0 "temporary files left" || return 1

	http_get "http://127.0.0.1:$port/metrics" "$WORK/http.out" || return 1
	expect_eq "$(head -n1 "$WORK/http.out")" "200 text/plain; version=0.0.4; charset=utf-8" "status and type" || return 1
	tail -n +2 "$WORK/http.out" >"$WORK/http.prom"
	promtool_ok "$WORK/http.prom" || return 1
	expect_eq "$(metric "$WORK/http.prom" "$ok")" 2 "ok over HTTP" || return 1
	# This reply counts itself.
	expect_eq "$(metric "$WORK/http.prom" 'tokencache_http_requests_total{code="200"}')" 1 "its own 200" || return 1
	# Anyone on the host may scrape it, as anyone may run the command;
	# a token request still needs its client_id.
	node -e '
		fetch(process.argv[1], { method: "POST" }).then((r) => process.exit(r.status === 405 ? 0 : 1))
		.catch(() => process.exit(1));' "http://127.0.0.1:$port/metrics" ||
	    { echo "POST /metrics was not refused with 405"; return 1; }
}

tc_scenario t_metrics_textfile_http "metrics: metrics_textfile written whole and kept up to date; GET /metrics on the local endpoint, parsed by promtool"
