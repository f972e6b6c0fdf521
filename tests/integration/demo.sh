#!/usr/bin/env bash
# make demo: a local OAuth 2.0 server (oidc-provider on 127.0.0.1), the
# daemon in a private runtime directory, a live token through
# tokencachectl; then everything it started is stopped.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/integration/lib.sh"
DAEMON_PID=
tc_workdir
trap 'tc_stop_all; rm -rf "$WORK"' EXIT
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

SECRET=demo-secret-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
cat >"$WORK/clients.json" <<JSON
[{"client_id": "zeebe-demo", "client_secret": "$SECRET",
  "token_endpoint_auth_method": "client_secret_post",
  "grant_types": ["client_credentials"], "redirect_uris": [], "response_types": []}]
JSON
say "starting a local OAuth 2.0 server (oidc-provider, 127.0.0.1 only)"
tc_server demo "$WORK/clients.json" 3600
echo "token endpoint: http://127.0.0.1:$PORT_demo/token"

if [ "$(id -u)" = 0 ]; then
	say "root: tokencached will drop to the system user 'tokencache'"
	tc_system_user tokencache
fi
say "configuring tokencached in $WORK"
EP=$(tc_free_port)
tc_config "[endpoint]" "listen = 127.0.0.1:$EP"
tc_cred zeebe-demo "$PORT_demo" zeebe-demo "$(tc_secret zeebe-demo "$SECRET")" \
    "audience = urn:camunda:zeebe"
sed -n p "$WORK/tokencache.conf" "$WORK/creds/zeebe-demo.conf" | sed 's/^/    /'

say "starting tokencached -f -c $WORK/tokencache.conf"
tc_daemon_start
ctl token zeebe-demo --wait 15 >/dev/null
sed 's/^/    /' "$WORK/daemon.log"

say "tokencachectl list"
ctl list

say "tokencachectl token zeebe-demo"
ctl token zeebe-demo

say "tokencachectl check (a monitoring plugin: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)"
ctl check

say "tokencachectl metrics (Prometheus text; a few of its lines)"
ctl metrics | grep -E '^tokencache_(token_expiry_seconds|refresh_requests_total|refresh_duration_seconds_count|credential_consecutive_failures|key_requests_total)'

say "the local token endpoint: an OAuth token request, answered from the cache"
echo "curl -d 'grant_type=client_credentials&client_id=zeebe-demo&audience=urn:camunda:zeebe' http://127.0.0.1:$EP/oauth/token"
curl -sS -d 'grant_type=client_credentials&client_id=zeebe-demo&audience=urn:camunda:zeebe' \
    "http://127.0.0.1:$EP/oauth/token" | cut -c1-120
echo "..."

say "the Camunda 8 JS SDK (@camunda8/sdk, unmodified), set up by tokencachectl env zeebe-demo --for camunda-js"
ctl env zeebe-demo --for camunda-js | tee "$WORK/sdk.env" | sed 's/^/    /'
sh "$TOP/tests/npm-ci.sh" "$TOP/tests/clients" @camunda8/sdk simple-oauth2
mkdir -p "$WORK/home"
# Unquoted on purpose: one VAR=value word per line of the file.
# shellcheck disable=SC2046
env -i PATH="$PATH" HOME="$WORK/home" $(grep -v '^#' "$WORK/sdk.env") \
    node "$TOP/tests/clients/sdk-token.cjs" 2>/dev/null | sed 's/^/    /'
echo "token requests the OAuth server received: $(tc_stats "$PORT_demo")"

say "stopping"
tc_daemon_stop TERM
echo "done: the daemon and the OAuth server are stopped, $WORK is removed."
