#!/usr/bin/env bash
# oauth2.sh - the built-in oauth2 source's keys beyond token_url and a
# secret: OIDC discovery from an issuer (and discovering again after the
# endpoint fails), extra form parameters, an explicit proxy,
# connect_timeout, private_key_jwt (RFC 7523) and mutual TLS (RFC 8705).
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/oauth2.sh
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# o2_cred NAME key = value ...: a credential file of the lines given.
o2_cred() {
	local name=$1 kv
	shift
	{
		printf '[credential]\nprovider = oauth2\n'
		for kv in "$@"; do printf '%s\n' "$kv"; done
	} >"$WORK/creds/$name.conf"
}

# o2_show NAME EXPR: EXPR over `tokencachectl show NAME --json`.
o2_show() {
	ctl show "$1" --json >"$WORK/show.json" 2>/dev/null || return 1
	tc_json "$WORK/show.json" "$2"
}

# o2_hits KEY: how many requests the fault server saw for KEY.
o2_hits() {
	tc_fault_hits "$1" | wc -l
}

# o2_start: the daemon, started; its log shown if it does not start.
o2_start() {
	tc_daemon_start || { cat "$WORK/daemon.log"; echo "the daemon did not start"; return 1; }
}

# ---- OIDC discovery ----------------------------------------------------

# The real server's discovery document: its token_endpoint is used, and
# the token is the server's.
t_oauth2_issuer() {
	it_server main 3600 || return 1
	local P=$PORT_main sf
	sf=$(tc_secret post "$POST_SECRET")
	tc_config "$FAST_RATE" "$FAST_BURST" "refresh_min_interval = 0"
	o2_cred disc "issuer = http://127.0.0.1:$P" "client_id = it-post" \
	    "client_secret_file = $sf" "resource = urn:tokencache:test-api"
	o2_start || return 1
	token_of disc "$WORK/tok" || { cat "$WORK/daemon.log"; return 1; }
	tc_verify "$P" it-post "$POST_SECRET" "$WORK/tok" | grep -q "valid jwt" ||
	    { echo "server rejected the token"; return 1; }
	expect_grep "discovered token endpoint http://127.0.0.1:$P/token" \
	    "$WORK/daemon.log" "daemon log" || return 1
	# The rate guard counts requests per issuer (its endpoint's key).
	expect_grep "disc: requesting a token (http://127.0.0.1:$P)" \
	    "$WORK/daemon.log" "daemon log" || return 1
	# The endpoint is cached: a refresh goes straight to it.
	expect_eq "$(tc_stats "$P" it-post)" 1 "token requests" || return 1
	ctl refresh disc >/dev/null 2>&1
	wait_stats "$P" 2
	expect_eq "$(tc_stats "$P" it-post)" 2 "token requests after refresh" || return 1
	expect_eq "$(grep -c 'discovered token endpoint' "$WORK/daemon.log")" 1 \
	    "discoveries" || return 1
}

tc_scenario t_oauth2_issuer "issuer: OIDC discovery against the real server, endpoint cached"

# A discovered endpoint that refuses connections, then one that answers
# 404: each is forgotten, and the next attempt asks the issuer again.
t_oauth2_rediscover() {
	it_fault_server || return 1
	local sf wk=/.well-known/openid-configuration n g
	sf=$(tc_secret s "x")
	# Port 1 on the loopback interface: nothing listens there.
	tc_server_ctl "$PF" "/_discovery?endpoint=http%3A%2F%2F127.0.0.1%3A1%2Ftoken" || return 1
	tc_config "$FAST_RATE" "$FAST_BURST" "refresh_min_interval = 0"
	o2_cred moved "issuer = http://127.0.0.1:$PF" "client_id = c1" \
	    "client_secret_file = $sf"
	o2_start || return 1
	wait_json moved 'j.failures >= 1' 10 || return 1
	tc_server_ctl "$PF" /_discovery || return 1	# back to .../ok
	token_of moved "$WORK/tok" || { cat "$WORK/daemon.log"; return 1; }
	# Every attempt asked the issuer first: each failed one (the daemon
	# retried while port 1 still refused) and the one that succeeded.
	n=$(grep -c "moved: fetch failed.*127.0.0.1 port 1 " "$WORK/daemon.log")
	[ "$n" -ge 1 ] || { echo "no refused connection logged"; cat "$WORK/daemon.log"; return 1; }
	expect_eq "$(o2_hits "$wk")" $((n + 1)) "discoveries" || return 1
	expect_eq "$(o2_hits /ok)" 1 "token requests to /ok" || return 1

	# A second credential whose discovered endpoint is gone (404).
	tc_server_ctl "$PF" "/_discovery?endpoint=http%3A%2F%2F127.0.0.1%3A$PF%2Fgone" || return 1
	o2_cred gone "issuer = http://127.0.0.1:$PF" "client_id = c2" \
	    "client_secret_file = $sf"
	kill -HUP "$DAEMON_PID"
	wait_registered gone || return 1
	wait_json gone 'j.failures >= 1' 10 || return 1
	o2_show gone 'j.last_error' | grep -q "answered HTTP 404; asking the issuer again" ||
	    { echo "error: $(o2_show gone 'j.last_error')"; return 1; }
	expect_eq "$(o2_show gone 'j.state')" failed "state of gone" || return 1
	tc_server_ctl "$PF" /_discovery || return 1
	token_of gone "$WORK/tok2" || { cat "$WORK/daemon.log"; return 1; }
	g=$(grep -c "gone: fetch failed.*HTTP 404; asking the issuer again" "$WORK/daemon.log")
	expect_eq "$(o2_hits /gone)" "$g" "requests to /gone" || return 1
	expect_eq "$(o2_hits "$wk")" $((n + 1 + g + 1)) "discoveries" || return 1
}

tc_scenario t_oauth2_rediscover "issuer: a refused or 404 token endpoint is discovered again"

# OIDC Discovery 4.3: a document naming another issuer is refused, and its
# token endpoint never hears from us.
t_oauth2_issuer_mismatch() {
	it_fault_server || return 1
	local sf
	sf=$(tc_secret s "x")
	tc_server_ctl "$PF" "/_discovery?issuer=http%3A%2F%2F127.0.0.1%3A9%2Fother" || return 1
	tc_config "$FAST_RATE" "$FAST_BURST" "refresh_min_interval = 0"
	o2_cred evil "issuer = http://127.0.0.1:$PF" "client_id = c" \
	    "client_secret_file = $sf"
	o2_start || return 1
	wait_json evil 'j.failures >= 1' 10 || return 1
	o2_show evil 'j.last_error' | grep -q "issuer is not the configured one" ||
	    { echo "error: $(o2_show evil 'j.last_error')"; return 1; }
	expect_eq "$(o2_hits /ok)" 0 "token requests" || return 1
	ctl token evil >/dev/null 2>&1 && { echo "a token for a mismatched issuer"; return 1; }
	return 0
}

tc_scenario t_oauth2_issuer_mismatch "issuer: a document naming another issuer is refused"

# ---- form parameters, proxy, connect_timeout ---------------------------

# param lines are sent, form-encoded, after the daemon's own; a request
# through `proxy` reaches the proxy, whatever http_proxy says.
t_oauth2_param_proxy() {
	it_fault_server || return 1
	local sf pport
	sf=$(tc_secret s "x")
	cat >"$WORK/proxy.cjs" <<'JS'
const http = require('node:http');
const fs = require('node:fs');
const log = process.argv[2];
const s = http.createServer((req, res) => {
  fs.appendFileSync(log, `${req.method} ${req.url}\n`);
  const up = http.request(req.url, { method: req.method, headers: req.headers }, (ur) => {
    res.writeHead(ur.statusCode, ur.headers);
    ur.pipe(res);
  });
  up.on('error', (e) => { res.writeHead(502); res.end(e.message); });
  req.pipe(up);
});
s.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${s.address().port}\n`));
JS
	: >"$WORK/proxy.log"
	mkdir -p "$WORK/server-proxy"
	node "$WORK/proxy.cjs" "$WORK/proxy.log" >"$WORK/proxy.out" 2>&1 &
	echo $! >"$WORK/server-proxy/oauth.pid"
	wait_for 10 grep -q listening "$WORK/proxy.out" || { echo "no proxy"; return 1; }
	pport=$(awk '{ print $2 }' "$WORK/proxy.out")
	tc_config "$FAST_RATE" "$FAST_BURST" "refresh_min_interval = 0"
	o2_cred params "token_url = http://127.0.0.1:$PF/form" "client_id = c1" \
	    "client_secret_file = $sf" "scope = a b" "param = tenant=t 1&2" \
	    "param = x.y=" "proxy = http://127.0.0.1:$pport"
	o2_cred direct "token_url = http://127.0.0.1:$PF/form" "client_id = c2" \
	    "client_secret_file = $sf"
	# The environment's proxy must not be used.
	http_proxy=http://127.0.0.1:1 HTTP_PROXY=http://127.0.0.1:1 \
	    no_proxy= o2_start || return 1
	token_of params "$WORK/t1" || { cat "$WORK/daemon.log"; return 1; }
	token_of direct "$WORK/t2" || { cat "$WORK/daemon.log"; return 1; }
	expect_eq "$(o2_hits 'form:grant_type=client_credentials&client_id=c1&client_secret=*&scope=a+b&tenant=t+1%262&x.y=')" 1 \
	    "the form with params" || { tc_fault_hits x; curl -s "http://127.0.0.1:$PF/_stats"; return 1; }
	expect_eq "$(o2_hits 'form:grant_type=client_credentials&client_id=c2&client_secret=*')" 1 \
	    "the form without" || return 1
	expect_eq "$(cat "$WORK/proxy.log")" "POST http://127.0.0.1:$PF/form" \
	    "what the proxy saw" || return 1
}

tc_scenario t_oauth2_param_proxy "param lines sent form-encoded; proxy used when given, *_proxy ignored"

# connect_timeout bounds the connection and TLS handshake, well inside
# timeout: a server that accepts and never answers.
t_oauth2_connect_timeout() {
	local sf port t0 t1
	sf=$(tc_secret s "x")
	mkdir -p "$WORK/server-mute"
	node -e '
		const s = require("node:net").createServer(() => {});
		s.listen(0, "127.0.0.1", () => console.log(`listening ${s.address().port}`));
	' >"$WORK/server-mute/out" 2>&1 &
	echo $! >"$WORK/server-mute/oauth.pid"
	wait_for 10 grep -q listening "$WORK/server-mute/out" || { echo "no server"; return 1; }
	port=$(awk '{ print $2 }' "$WORK/server-mute/out")
	tc_config "$FAST_RATE" "$FAST_BURST" "refresh_min_interval = 0"
	o2_cred mute "token_url = https://127.0.0.1:$port/token" "client_id = c" \
	    "client_secret_file = $sf" "timeout = 60" "connect_timeout = 1"
	t0=$SECONDS
	o2_start || return 1
	wait_json mute 'j.failures >= 1' 10 || return 1
	t1=$SECONDS
	[ $((t1 - t0)) -le 6 ] || { echo "failed after $((t1 - t0)) s, not ~1 s"; return 1; }
	o2_show mute 'j.last_error' | grep -qi "timed out\|timeout" ||
	    { echo "error: $(o2_show mute 'j.last_error')"; return 1; }
}

tc_scenario t_oauth2_connect_timeout "connect_timeout: a mute TLS server fails in ~1 s, not timeout"

# ---- private_key_jwt ---------------------------------------------------

# o2_jwk PEM KID: the public JWK of a private key PEM.
o2_jwk() {
	node -e '
		const crypto = require("node:crypto");
		const fs = require("node:fs");
		const k = crypto.createPublicKey(fs.readFileSync(process.argv[1]));
		console.log(JSON.stringify({ ...k.export({ format: "jwk" }), kid: process.argv[2] }));
	' "$1" "$2"
}

# o2_clients EXTRA_JSON: the standard clients plus the JSON objects given
# (comma-separated).
o2_clients() {
	it_clients
	node -e '
		const fs = require("fs");
		const f = process.argv[1];
		const list = JSON.parse(fs.readFileSync(f, "utf8"));
		list.push(...JSON.parse(`[${process.argv[2]}]`));
		fs.writeFileSync(f, JSON.stringify(list, null, 1));
	' "$WORK/clients.json" "$1"
}

# RS256 by token_url, ES256 with a kid by issuer (the assertion's aud is
# the discovered endpoint), each accepted by the real server; a key the
# server does not know is invalid_client.
t_oauth2_private_key_jwt() {
	local k=$WORK/secrets P
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	    -out "$k/rsa.pem" 2>/dev/null || return 1
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$k/ec.pem" 2>/dev/null || return 1
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	    -out "$k/other.pem" 2>/dev/null || return 1
	chmod 0600 "$k"/*.pem
	o2_clients "$(printf '{"client_id":"it-pkjwt-rsa","token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[%s]}},{"client_id":"it-pkjwt-ec","token_endpoint_auth_method":"private_key_jwt","token_endpoint_auth_signing_alg":"ES256","jwks":{"keys":[%s]}}' \
	    "$(o2_jwk "$k/rsa.pem" rsa-1)" "$(o2_jwk "$k/ec.pem" ec-1)")" || return 1
	tc_server main "$WORK/clients.json" 3600 || { echo "no OAuth server"; return 1; }
	P=$PORT_main
	tc_config "$FAST_RATE" "$FAST_BURST" "refresh_min_interval = 0"
	o2_cred rsa "token_url = http://127.0.0.1:$P/token" \
	    "client_id = it-pkjwt-rsa" "auth_method = private_key_jwt" \
	    "private_key_file = $k/rsa.pem" "resource = urn:tokencache:test-api"
	o2_cred ec "issuer = http://127.0.0.1:$P" "client_id = it-pkjwt-ec" \
	    "auth_method = private_key_jwt" "private_key_file = $k/ec.pem" \
	    "jwt_kid = ec-1" "resource = urn:tokencache:test-api"
	o2_cred wrongkey "token_url = http://127.0.0.1:$P/token" \
	    "client_id = it-pkjwt-rsa" "auth_method = private_key_jwt" \
	    "private_key_file = $k/other.pem"
	o2_start || return 1
	token_of rsa "$WORK/t1" || { cat "$WORK/daemon.log"; return 1; }
	tc_verify "$P" it-pkjwt-rsa - "$WORK/t1" | grep -q "valid jwt" ||
	    { echo "server rejected the RS256 client's token"; return 1; }
	token_of ec "$WORK/t2" || { cat "$WORK/daemon.log"; return 1; }
	tc_verify "$P" it-pkjwt-ec - "$WORK/t2" | grep -q "valid jwt" ||
	    { echo "server rejected the ES256 client's token"; return 1; }
	# Each request makes its own assertion: a refresh is accepted too
	# (oidc-provider refuses a jti seen before).
	ctl refresh rsa >/dev/null 2>&1
	wait_json rsa 'j.state == "valid" && j.failures == 0' 10 || return 1
	wait_stats "$P" 4
	wait_json wrongkey 'j.failures >= 1' 10 || return 1
	o2_show wrongkey 'j.last_error' | grep -q invalid_client ||
	    { echo "error: $(o2_show wrongkey 'j.last_error')"; return 1; }
	grep -q "BEGIN\|PRIVATE" "$WORK/daemon.log" &&
	    { echo "key material in the log"; return 1; }
	return 0
}

tc_scenario t_oauth2_private_key_jwt "private_key_jwt: RS256 and ES256 (kid, discovered aud) accepted; unknown key refused"

# A reload while discovery is in flight: the request outlives the
# configuration it started with (the built-in source's requests run on
# across a reload), and still signs its assertion with the key it
# started with, after the discovery document arrives.
t_oauth2_reload_in_flight() {
	local k=$WORK/secrets P
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	    -out "$k/rsa.pem" 2>/dev/null || return 1
	chmod 0600 "$k/rsa.pem"
	o2_clients "$(printf '{"client_id":"it-pkjwt-rsa","token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[%s]}}' \
	    "$(o2_jwk "$k/rsa.pem" rsa-1)")" || return 1
	tc_server main "$WORK/clients.json" 3600 || { echo "no OAuth server"; return 1; }
	P=$PORT_main
	tc_server_ctl "$P" "/_delay?discovery_ms=2000" || return 1
	tc_config "$FAST_RATE" "$FAST_BURST" "refresh_min_interval = 0"
	o2_cred pk "issuer = http://127.0.0.1:$P" "client_id = it-pkjwt-rsa" \
	    "auth_method = private_key_jwt" "private_key_file = $k/rsa.pem" \
	    "resource = urn:tokencache:test-api"
	o2_start || return 1
	wait_grep "pk: requesting a token" "$WORK/daemon.log" 5 || return 1
	# Not the request: the token request in flight goes on.
	printf 'timeout = 20\nconnect_timeout = 5\n' >>"$WORK/creds/pk.conf"
	kill -HUP "$DAEMON_PID"
	wait_grep "configuration reloaded: 1 credentials" "$WORK/daemon.log" 5 ||
	    return 1
	grep -q "pk: new" "$WORK/daemon.log" &&
	    { echo "the token arrived before the reload: no test"; return 1; }
	token_of pk "$WORK/t1" || { cat "$WORK/daemon.log"; return 1; }
	tc_verify "$P" it-pkjwt-rsa - "$WORK/t1" | grep -q "valid jwt" ||
	    { echo "server rejected the token"; return 1; }
	expect_eq "$(grep -c 'pk: requesting a token' "$WORK/daemon.log")" 1 \
	    "requests started" || return 1
	# The request's name is the new configuration's (it was freed).
	expect_grep "debug: pk: discovered token endpoint" "$WORK/daemon.log" \
	    "daemon log" || return 1
	expect_eq "$(tc_stats "$P" it-pkjwt-rsa)" 1 "token requests" || return 1
}

tc_scenario t_oauth2_reload_in_flight "reload during discovery: the request completes on the state it started with"

# ---- mutual TLS ----------------------------------------------------------

# o2_pki DIR: a CA, a server certificate for 127.0.0.1, a client
# certificate (CN=tc-it-mtls) it signed, and a rogue CA's client
# certificate of the same name.
o2_pki() {
	local d=$1 ca
	mkdir -p "$d" && cd "$d" || return 1
	for ca in ca rogue; do
		openssl req -x509 -newkey rsa:2048 -nodes -keyout "$ca.key" \
		    -out "$ca.pem" -days 2 -subj "/CN=tc-it-$ca" \
		    2>/dev/null || return 1
	done
	openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
	    -subj /CN=127.0.0.1 2>/dev/null || return 1
	printf 'subjectAltName = IP:127.0.0.1\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
	    -CAcreateserial -days 2 -extfile server.ext -out server.pem \
	    2>/dev/null || return 1
	for ca in ca rogue; do
		openssl req -newkey rsa:2048 -nodes -keyout "client-$ca.key" \
		    -out "client-$ca.csr" -subj /CN=tc-it-mtls 2>/dev/null || return 1
		openssl x509 -req -in "client-$ca.csr" -CA "$ca.pem" \
		    -CAkey "$ca.key" -CAcreateserial -days 2 \
		    -out "client-$ca.pem" 2>/dev/null || return 1
	done
	chmod 0644 ./*.pem
	chmod 0600 ./*.key
	cd - >/dev/null || return 1
}

# tls_client_auth through a TLS front that verifies client certificates:
# the token is the client's and bound to its certificate (cnf x5t#S256);
# a certificate from another CA fails the handshake; a client secret over
# mutual TLS works too.
t_oauth2_mtls() {
	local d=$WORK/pki k=$WORK/secrets P F want got
	o2_pki "$d" || { echo "could not make the certificates"; return 1; }
	cp "$d/client-ca.key" "$d/client-rogue.key" "$k/" && chmod 0600 "$k"/*.key
	o2_clients '{"client_id":"it-mtls","token_endpoint_auth_method":"tls_client_auth","tls_client_auth_subject_dn":"CN=tc-it-mtls","tls_client_certificate_bound_access_tokens":true}' || return 1
	tc_server main "$WORK/clients.json" 3600 || { echo "no OAuth server"; return 1; }
	P=$PORT_main
	mkdir -p "$WORK/server-front"
	node "$SERVER_DIR/tls-front.cjs" "$d/ca.pem" "$d/server.pem" \
	    "$d/server.key" "$P" >"$WORK/server-front/out" 2>"$WORK/server-front/log" &
	echo $! >"$WORK/server-front/oauth.pid"
	wait_for 10 grep -q listening "$WORK/server-front/out" || { echo "no TLS front"; return 1; }
	F=$(awk '{ print $2 }' "$WORK/server-front/out")
	tc_config "$FAST_RATE" "$FAST_BURST" "refresh_min_interval = 0"
	o2_cred mtls "token_url = https://127.0.0.1:$F/token" "ca_file = $d/ca.pem" \
	    "client_id = it-mtls" "auth_method = tls_client_auth" \
	    "tls_cert_file = $d/client-ca.pem" "tls_key_file = $k/client-ca.key" \
	    "resource = urn:tokencache:test-api"
	o2_cred rogue "token_url = https://127.0.0.1:$F/token" "ca_file = $d/ca.pem" \
	    "client_id = it-mtls" "auth_method = tls_client_auth" \
	    "tls_cert_file = $d/client-rogue.pem" "tls_key_file = $k/client-rogue.key"
	o2_cred secret-mtls "token_url = https://127.0.0.1:$F/token" \
	    "ca_file = $d/ca.pem" "client_id = it-post" \
	    "client_secret_file = $(tc_secret post "$POST_SECRET")" \
	    "tls_cert_file = $d/client-ca.pem" "tls_key_file = $k/client-ca.key"
	o2_start || return 1
	token_of mtls "$WORK/t1" || { cat "$WORK/daemon.log" "$WORK/server-front/log"; return 1; }
	tc_verify "$P" it-mtls - "$WORK/t1" | grep -q "valid jwt" ||
	    { echo "server rejected the mTLS client's token"; return 1; }
	# RFC 8705 §3.1: bound to the certificate the daemon presented.
	want=$(openssl x509 -in "$d/client-ca.pem" -outform DER |
	    openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=')
	got=$(node -e '
		const t = require("fs").readFileSync(process.argv[1], "utf8").trim();
		const p = JSON.parse(Buffer.from(t.split(".")[1], "base64url"));
		console.log(p.cnf && p.cnf["x5t#S256"]);
	' "$WORK/t1")
	expect_eq "$got" "$want" "cnf x5t#S256 of the token" || return 1
	token_of secret-mtls "$WORK/t2" || { cat "$WORK/daemon.log"; return 1; }
	tc_verify "$P" it-post "$POST_SECRET" "$WORK/t2" | grep -q "valid opaque" ||
	    { echo "server rejected the secret-over-mTLS token"; return 1; }
	wait_json rogue 'j.failures >= 1' 10 || return 1
	expect_grep "handshake refused" "$WORK/server-front/log" "front log" || return 1
	expect_eq "$(grep -c 'front: tc-it-mtls /token' "$WORK/server-front/log")" 2 \
	    "token requests through the front" || return 1
	grep -q "PRIVATE" "$WORK/daemon.log" && { echo "key material in the log"; return 1; }
	return 0
}

tc_scenario t_oauth2_mtls "mutual TLS: tls_client_auth (bound token), a rogue CA refused, a secret over mTLS"

# Keys the worker cannot use are refused when the configuration loads,
# naming the credential file, and the running configuration stays: a
# client key that is not its certificate's, a short RSA key for
# private_key_jwt, a file that is not PEM.
t_oauth2_keys_refused() {
	local d=$WORK/pki k=$WORK/secrets out sf
	o2_pki "$d" || { echo "could not make the certificates"; return 1; }
	cp "$d/client-rogue.key" "$k/" && chmod 0600 "$k"/*.key
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 \
	    -out "$k/short.pem" 2>/dev/null || return 1
	chmod 0600 "$k/short.pem"
	sf=$(tc_secret s "x")
	tc_config "$FAST_RATE" "$FAST_BURST"
	o2_cred ok "token_url = http://127.0.0.1:1/token" "client_id = c" \
	    "client_secret_file = $sf"
	o2_start || return 1
	o2_cred pair "token_url = https://127.0.0.1:1/token" "client_id = c" \
	    "auth_method = tls_client_auth" "tls_cert_file = $d/client-ca.pem" \
	    "tls_key_file = $k/client-rogue.key"
	out=$(ctl reload 2>&1) && { echo "reload accepted a foreign key"; return 1; }
	printf '%s' "$out" | grep -q "$WORK/creds/pair.conf: tls_key_file is not the key of tls_cert_file" ||
	    { echo "reload said: $out"; return 1; }
	rm "$WORK/creds/pair.conf"
	o2_cred short "token_url = http://127.0.0.1:1/token" "client_id = c" \
	    "auth_method = private_key_jwt" "private_key_file = $k/short.pem"
	out=$(ctl reload 2>&1) && { echo "reload accepted a 1024-bit key"; return 1; }
	printf '%s' "$out" | grep -q "$WORK/creds/short.conf: private_key_file: an RSA key shorter than 2048 bits" ||
	    { echo "reload said: $out"; return 1; }
	o2_cred short "token_url = http://127.0.0.1:1/token" "client_id = c" \
	    "auth_method = private_key_jwt" "private_key_file = $sf"
	out=$(ctl reload 2>&1) && { echo "reload accepted a secret as a key"; return 1; }
	printf '%s' "$out" | grep -q "$WORK/creds/short.conf:6: private_key_file $sf is not a PEM file" ||
	    { echo "reload said: $out"; return 1; }
	grep -q "BEGIN" "$WORK/daemon.log" && { echo "key material in the log"; return 1; }
	ctl show ok >/dev/null || { echo "the running configuration went"; return 1; }
}

tc_scenario t_oauth2_keys_refused "keys the worker cannot use refused at reload, naming the file"
