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
tc_config
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

say "tokencachectl check"
ctl check

say "stopping"
tc_daemon_stop TERM
echo "done: the daemon and the OAuth server are stopped, $WORK is removed."
