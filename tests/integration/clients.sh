#!/usr/bin/env bash
# clients.sh - unmodified OAuth clients from their registry (tests/clients,
# pinned) get their tokens from the daemon's local token endpoint, set up
# only as their users would: the Camunda 8 JS SDK through its usual
# environment variables, and a generic client that sends its credentials
# in an HTTP Basic header, as pyzeebe does.  The OAuth server sees only
# the daemon's requests.
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/clients.sh
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLIENTS_DIR=$TOP/tests/clients

# cl_start: the server (3600 s JWTs for an audience), the credential
# "zeebe" for it-post with Camunda's audience, and the daemon with the
# endpoint on a free port, EP.
cl_start() {
	sh "$TOP/tests/npm-ci.sh" "$CLIENTS_DIR" @camunda8/sdk simple-oauth2 ||
	    { echo "npm ci failed in tests/clients"; return 1; }
	it_server main 3600 || return 1
	P=$PORT_main
	local sf
	sf=$(tc_secret post "$POST_SECRET")
	EP=$(tc_free_port) || { echo "no free port"; return 1; }
	tc_config "$FAST_RATE" "$FAST_BURST" "[endpoint]" \
	    "listen = 127.0.0.1:$EP"
	tc_cred zeebe "$P" it-post "$sf" "audience = zeebe.camunda.io"
	tc_daemon_start || { cat "$WORK/daemon.log"; echo "the daemon did not start"; return 1; }
}

# cl_sdk NAME [VAR=VALUE ...]: the JS SDK's token, with the environment
# `tokencachectl env zeebe --for camunda-js` prints (as a systemd unit's
# EnvironmentFile= would give it) and nothing else but the VARs given;
# output in $WORK/NAME.out.  HOME is the scenario's.
cl_sdk() {
	local name=$1
	shift
	mkdir -p "$WORK/home"
	ctl env zeebe --for camunda-js >"$WORK/sdk.env" || return 1
	env -i PATH="$PATH" HOME="$WORK/home" \
	    $(grep -v '^#' "$WORK/sdk.env") "$@" \
	    node "$CLIENTS_DIR/sdk-token.cjs" >"$WORK/$name.out" \
	    2>"$WORK/$name.err" || { cat "$WORK/$name.err"; return 1; }
}

# cl_prefix FILE: the first 16 bytes of the token in FILE, as the client
# scripts print them ("token PREFIX... len N").
cl_prefix() {
	head -c 16 "$1"
}

t_clients_sdk() {
	cl_start || return 1
	ctl token zeebe --wait 15 >"$WORK/tok" || { cat "$WORK/daemon.log"; return 1; }
	local i want
	want="token $(cl_prefix "$WORK/tok")... len $(tr -d '\n' <"$WORK/tok" | wc -c)"
	for i in 1 2 3; do
		cl_sdk "sdk$i" || return 1
		expect_eq "$(head -n1 "$WORK/sdk$i.out")" "$want" \
		    "the SDK's token ($i)" || return 1
	done
	# The same through the Unix socket, in got's spelling of it.
	cl_sdk sdk-unix \
	    CAMUNDA_OAUTH_URL="http://unix:$WORK/run/endpoint.socket:/oauth/token" ||
	    return 1
	expect_eq "$(head -n1 "$WORK/sdk-unix.out")" "$want" \
	    "the SDK's token over the Unix socket" || return 1
	# Four SDK processes, one request upstream: the daemon's.
	expect_eq "$(tc_stats "$P" it-post)" 1 "token requests at the OAuth server" ||
	    return 1
	# The environment was tokencachectl's: the endpoint's URL, the
	# credential's client id and audience, the SDK's disk cache off.
	expect_grep "^CAMUNDA_OAUTH_URL=http://127.0.0.1:$EP/oauth/token\$" \
	    "$WORK/sdk.env" "tokencachectl env" || return 1
	expect_grep '^ZEEBE_TOKEN_AUDIENCE=zeebe.camunda.io$' "$WORK/sdk.env" \
	    "tokencachectl env" || return 1
	expect_eq "$(find "$WORK/home" -type f | wc -l)" 0 "files in HOME" || return 1
	# No secret of the request reached the log.
	cl_sdk sdk-secret ZEEBE_CLIENT_SECRET=not-the-real-secret || return 1
	if grep -q not-the-real-secret "$WORK/daemon.log"; then
		echo "the request's client_secret is in the daemon's log"
		return 1
	fi
}

tc_scenario t_clients_sdk "the Camunda JS SDK, set up by its environment, gets its token from the endpoint (TCP and Unix socket); one upstream request"

t_clients_basic() {
	cl_start || return 1
	ctl token zeebe --wait 15 >"$WORK/tok" || { cat "$WORK/daemon.log"; return 1; }
	local want
	want="token $(cl_prefix "$WORK/tok")... len $(tr -d '\n' <"$WORK/tok" | wc -c)"
	# Credentials in an HTTP Basic header, form-encoded first (RFC 6749
	# §2.3.1): a secret with a space, '+', '/' and '='.
	node "$CLIENTS_DIR/basic-token.cjs" "http://127.0.0.1:$EP/oauth/token" \
	    it-post 'any secret+/=' zeebe.camunda.io >"$WORK/basic.out" \
	    2>"$WORK/basic.err" || { cat "$WORK/basic.err"; return 1; }
	expect_eq "$(head -n1 "$WORK/basic.out")" "$want" "the Basic client's token" ||
	    return 1
	OAUTH_SOCKET=$WORK/run/endpoint.socket node "$CLIENTS_DIR/basic-token.cjs" \
	    http://localhost/oauth/token it-post x zeebe.camunda.io \
	    >"$WORK/basic-unix.out" 2>"$WORK/basic.err" ||
	    { cat "$WORK/basic.err"; return 1; }
	expect_eq "$(head -n1 "$WORK/basic-unix.out")" "$want" \
	    "the Basic client's token over the Unix socket" || return 1
	# Its expiry comes from expires_in: within the token's hour.
	local exp now
	exp=$(sed -n 's/^expiry \([0-9]*\) .*/\1/p' "$WORK/basic.out")
	now=$(date +%s)
	[ -n "$exp" ] && [ "$exp" -gt $((now + 3000)) ] && [ "$exp" -le $((now + 3600)) ] ||
	    { echo "expiry from expires_in: '$exp' (now $now)"; return 1; }
	# An audience the credential does not have: the client fails.
	if node "$CLIENTS_DIR/basic-token.cjs" "http://127.0.0.1:$EP/oauth/token" \
	    it-post x operate.camunda.io >/dev/null 2>"$WORK/basic-bad.err"; then
		echo "a token for an audience no credential has"
		return 1
	fi
	expect_grep invalid_scope "$WORK/basic-bad.err" "the client's error" || return 1
	expect_eq "$(tc_stats "$P" it-post)" 1 "token requests at the OAuth server"
}

tc_scenario t_clients_basic "a client with HTTP Basic credentials (as pyzeebe) gets its token from the endpoint; a wrong audience is refused"

t_clients_local_secret() {
	cl_start || return 1
	# Two applications of one user: the endpoint asks for a secret of
	# its own, not the real client secret.
	tc_secret local "local-endpoint-secret" >/dev/null
	chmod 0600 "$WORK/secrets/local"
	echo "endpoint_secret_file = $WORK/secrets/local" >>"$WORK/creds/zeebe.conf"
	ctl reload >/dev/null || { cat "$WORK/daemon.log"; return 1; }
	ctl env zeebe --for camunda-js >"$WORK/env" || return 1
	expect_grep "endpoint_secret_file's secret is the client secret" \
	    "$WORK/env" "tokencachectl env" || return 1
	if grep -q '^ZEEBE_CLIENT_SECRET=' "$WORK/env"; then
		echo "tokencachectl env printed a client secret"
		return 1
	fi
	if cl_sdk sdk-wrong ZEEBE_CLIENT_SECRET=unused >/dev/null 2>&1; then
		echo "a token without the endpoint's secret"
		return 1
	fi
	expect_grep "endpoint_secret_file" "$WORK/sdk-wrong.err" "the SDK's error" ||
	    return 1
	cl_sdk sdk-right ZEEBE_CLIENT_SECRET=local-endpoint-secret || return 1
	expect_grep "^token " "$WORK/sdk-right.out" "the SDK with the secret" || return 1
	# Basic: form-encoded, as RFC 6749 §2.3.1 has it.
	node "$CLIENTS_DIR/basic-token.cjs" "http://127.0.0.1:$EP/oauth/token" \
	    it-post local-endpoint-secret zeebe.camunda.io >"$WORK/basic.out" \
	    2>"$WORK/basic.err" || { cat "$WORK/basic.err"; return 1; }
	if grep -q local-endpoint-secret "$WORK/daemon.log"; then
		echo "the endpoint's secret is in the daemon's log"
		return 1
	fi
}

tc_scenario t_clients_local_secret "endpoint_secret_file: the SDK gets the token only with the endpoint's own secret; tokencachectl env leaves the secret out"
