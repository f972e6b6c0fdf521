#!/usr/bin/env bash
# make bench: start two local OAuth servers and tokencached in a private
# directory, run tc-bench against them, draw the readers plot, stop
# everything.  Writes, in $B:
#   bench.csv          every number (section,item,param,stat,value,unit)
#   bench.md           the tables, in Markdown, with the machine
#   bench-readers.dat  reads per second against readers, for the plot
#   bench-readers.png  the plot (gnuplot)
# For trying changes: TC_BENCH_QUICK=1 shortens every measurement,
# TC_BENCH_ONLY=latency,endpoint,sizes,many,readers,fleet,load runs only those
# parts, KEEP=1 keeps the work directory (daemon and server logs).
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/integration/lib.sh"

if ! command -v gnuplot >/dev/null 2>&1; then
	echo "bench: gnuplot is needed to draw the plot; install it with:" >&2
	echo "bench:   apt-get install -y --no-install-recommends gnuplot-nox" >&2
	exit 1
fi

SHORT_TTL=30        # seconds: the fleet and the load test refresh often
DAEMON_PID=
tc_workdir
trap 'tc_stop_all; if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi' EXIT

SECRET=bench-secret-$$-$RANDOM
client() {
	printf '{"client_id": "%s", "client_secret": "%s", "token_endpoint_auth_method": "client_secret_post", "grant_types": ["client_credentials"], "redirect_uris": [], "response_types": []}' \
	    "$1" "$SECRET"
}
{
	echo "["
	client bench; echo ","
	client direct
	echo "]"
} >"$WORK/clients-main.json"
{
	echo "["
	for n in 1 10 100 1000; do
		client "load-$n"; echo ","
		client "perproc-$n"; echo ","
	done
	for i in $(seq -f %04g 0 999); do
		client "fleet-$i"
		[ "$i" = 0999 ] || echo ","
	done
	echo "]"
} >"$WORK/clients-short.json"

tc_server main "$WORK/clients-main.json" 3600
tc_server short "$WORK/clients-short.json" "$SHORT_TTL"
tc_system_user tokencache
SECRET_FILE=$(tc_secret shared "$SECRET")
# The local token endpoint on a port free now (the kernel's pick, let go).
EP_PORT=$(node -e 'const s = require("net").createServer();
	s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
# refresh_min_interval 0: the readers part refreshes in a loop.
MAX_CREDENTIALS=1100 tc_config "endpoint_rate = 1000" "endpoint_burst = 1000" \
    "refresh_min_interval = 0" "[endpoint]" "listen = 127.0.0.1:$EP_PORT"
# A JWT access token, about the size real ones are, under a name like
# the ones people give credentials (the README's example).
CRED=zeebe-worker-client
tc_cred "$CRED" "$PORT_main" bench "$SECRET_FILE" \
    "resource = urn:tokencache:bench-api"
tc_daemon_start || { cat "$WORK/daemon.log" >&2; exit 1; }
WORKER_PID=$(tc_worker_pid)

MACHINE="$(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), $(free -g | awk '/^Mem:/ { print $2 }') GiB, $(uname -sr), $(. /etc/os-release && echo "$PRETTY_NAME"), $(${CC:-cc} --version | head -n1)"
echo "machine: $MACHINE"
echo "$MACHINE" >"$B/bench-machine.txt"

rm -f "$B/bench-readers.dat"	# a part not run this time leaves none
"$B/tc-bench" --work "$WORK" --rundir "$WORK/run" --creds "$WORK/creds" \
    --secret "$SECRET_FILE" --cred "$CRED" \
    --main-port "$PORT_main" --short-port "$PORT_short" \
    --short-ttl "$SHORT_TTL" --endpoint-port "$EP_PORT" \
    --monitor-pid "$DAEMON_PID" --worker-pid "$WORKER_PID" \
    --csv "$B/bench.csv" --md "$B/bench.md.tmp" \
    --plot-data "$B/bench-readers.dat"
{
	echo "Machine: $MACHINE; $(date -u +%Y-%m-%d)."
	cat "$B/bench.md.tmp"
} >"$B/bench.md"
rm -f "$B/bench.md.tmp"
SHORT_MACHINE="$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(uname -sr)"
# The readers part writes the plot's data; TC_BENCH_ONLY may leave it out.
plot=
if [ -s "$B/bench-readers.dat" ]; then
	gnuplot -e "data='$B/bench-readers.dat'; out='$B/bench-readers.png'; machine='$SHORT_MACHINE'" \
	    "$TOP/tests/bench/readers.gp"
	plot="  plot: $B/bench-readers.png"
fi
echo
echo "CSV: $B/bench.csv  tables: $B/bench.md$plot"
