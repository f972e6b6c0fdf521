#!/usr/bin/env bash
# make bench: start a local OAuth server and tokencached in a private
# directory, run tc-bench against them, write build/bench.csv, stop.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/integration/lib.sh"
DAEMON_PID=
tc_workdir
trap 'tc_stop_all; rm -rf "$WORK"' EXIT
SECRET=bench-secret-$$
cat >"$WORK/clients.json" <<JSON
[{"client_id": "bench", "client_secret": "$SECRET",
  "token_endpoint_auth_method": "client_secret_post",
  "grant_types": ["client_credentials"], "redirect_uris": [], "response_types": []}]
JSON
tc_server main "$WORK/clients.json" 3600
tc_system_user tokencache
tc_config
# A JWT access token, about the size real ones are.
tc_cred bench "$PORT_main" bench "$(tc_secret bench "$SECRET")" \
    "resource = urn:tokencache:bench-api"
tc_daemon_start
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(uname -sr)"
"$B/tc-bench" "$WORK/run" bench "$B/bench.csv"
echo
echo "CSV: $B/bench.csv"
