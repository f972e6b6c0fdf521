#!/usr/bin/env bash
# camunda.sh - provider = camunda and tokencachectl import-camunda: a
# credentials file as Camunda's console hands it out (SaaS-shaped, but its
# token URL, client id and secret are the local OAuth server's) imported
# into the configuration and served for two audiences.
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/camunda.sh
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# it_console FILE: the console's file, as downloaded, for client it-post of
# the scenario's server $P (scoped for Zeebe and Operate), with CRLF line
# ends and a comment as a Windows browser and a careful admin leave them.
it_console() {
	local url="http://127.0.0.1:$P/token"
	{
		echo "# Camunda client credentials, cluster it-cluster"
		echo "export ZEEBE_ADDRESS='0a1b2c3d-4e5f-6789-abcd-ef0123456789.bru-2.zeebe.camunda.io:443'"
		echo "export ZEEBE_CLIENT_ID='it-post'"
		echo "export ZEEBE_CLIENT_SECRET='$POST_SECRET'"
		echo "export ZEEBE_AUTHORIZATION_SERVER_URL='$url'"
		echo "export ZEEBE_TOKEN_AUDIENCE='zeebe.camunda.io'"
		echo "export CAMUNDA_CLUSTER_ID='0a1b2c3d-4e5f-6789-abcd-ef0123456789'"
		echo "export CAMUNDA_CLUSTER_REGION='bru-2'"
		echo "export CAMUNDA_CREDENTIALS_SCOPES='Zeebe,Operate'"
		echo "export CAMUNDA_OPERATE_BASE_URL='https://bru-2.operate.camunda.io/0a1b2c3d-4e5f-6789-abcd-ef0123456789'"
		echo "export CAMUNDA_OAUTH_URL='$url'"
	} | sed 's/$/\r/' >"$1"
}

# jwt_aud FILE: the aud claim of the JWT in FILE.
jwt_aud() {
	node -e '
		const t = require("fs").readFileSync(process.argv[1], "utf8").trim();
		const p = JSON.parse(Buffer.from(t.split(".")[1], "base64url"));
		console.log(Array.isArray(p.aud) ? p.aud.join(" ") : p.aud);
	' "$1"
}

t_camunda_import_two_audiences() {
	local out=$WORK/import.out
	it_server main 3600 || return 1
	P=$PORT_main
	tc_config "$FAST_RATE" "$FAST_BURST"
	tc_daemon_start || { cat "$WORK/daemon.log"; return 1; }
	it_console "$WORK/camunda-credentials.txt"
	"$CTL" import-camunda "$WORK/camunda-credentials.txt" --name acme \
	    --config "$WORK/tokencache.conf" >"$out" 2>"$WORK/import.err" ||
	    { cat "$out" "$WORK/import.err"; echo "import failed"; return 1; }
	expect_grep "wrote $WORK/creds/acme.camunda" "$out" "import output" || return 1
	expect_grep "wrote $WORK/creds/acme.zeebe.conf (token acme.zeebe" "$out" "import output" || return 1
	expect_grep "wrote $WORK/creds/acme.operate.conf (token acme.operate" "$out" "import output" || return 1
	expect_grep "reloaded" "$out" "import output" || return 1
	[ ! -e "$WORK/creds/acme.tasklist.conf" ] || { echo "tasklist written, not in scopes"; return 1; }
	expect_eq "$(stat -c '%a %u' "$WORK/creds/acme.camunda")" "600 $(id -u)" "console file mode and owner" || return 1
	expect_eq "$(stat -c %a "$WORK/creds/acme.zeebe.conf")" 644 "credential file mode" || return 1
	cmp -s "$WORK/camunda-credentials.txt" "$WORK/creds/acme.camunda" ||
	    { echo "the console's file was not copied as it is"; return 1; }
	wait_registered acme.zeebe || return 1
	wait_registered acme.operate || return 1
	token_of acme.zeebe "$WORK/tz" || { cat "$WORK/daemon.log"; return 1; }
	token_of acme.operate "$WORK/to" || return 1
	expect_eq "$(jwt_aud "$WORK/tz")" zeebe.camunda.io "aud of acme.zeebe's token" || return 1
	expect_eq "$(jwt_aud "$WORK/to")" operate.camunda.io "aud of acme.operate's token" || return 1
	tc_verify "$P" it-post "$POST_SECRET" "$WORK/tz" | grep -q valid ||
	    { echo "the server does not know acme.zeebe's token"; return 1; }
	expect_eq "$(tc_stats "$P" it-post)" 2 "token requests of it-post" || return 1
	if grep -qF "$POST_SECRET" "$WORK/daemon.log" "$out" "$WORK/import.err"; then
		echo "the secret was printed or logged"
		return 1
	fi
	# Again: refused without --force, and nothing touched.
	cp -p "$WORK/creds/acme.zeebe.conf" "$WORK/zeebe.before"
	if "$CTL" import-camunda "$WORK/camunda-credentials.txt" --name acme \
	    --config "$WORK/tokencache.conf" >"$out" 2>"$WORK/import.err"; then
		echo "second import without --force succeeded"
		return 1
	fi
	expect_grep "acme.zeebe.conf exists (--force replaces it)" "$WORK/import.err" "message" || return 1
	cmp -s "$WORK/zeebe.before" "$WORK/creds/acme.zeebe.conf" || { echo "file changed"; return 1; }
}

tc_scenario t_camunda_import_two_audiences "import-camunda: a console file served as acme.zeebe and acme.operate, JWT audiences differ"

# No daemon running: the files are written, the import says so and
# succeeds; the daemon serves them when it starts.  --audience picks.
t_camunda_import_no_daemon() {
	local out=$WORK/import.out
	it_server main 3600 || return 1
	P=$PORT_main
	tc_config "$FAST_RATE" "$FAST_BURST"
	it_console "$WORK/console.txt"
	local st=0
	"$CTL" import-camunda "$WORK/console.txt" --name acme --audience tasklist,bogus \
	    --config "$WORK/tokencache.conf" >"$out" 2>&1 || st=$?
	expect_eq "$st" 2 "exit status for an unknown audience" || return 1
	expect_grep "unknown audience 'bogus'" "$out" "message" || return 1
	st=0
	"$CTL" import-camunda "$WORK/console.txt" --config "$WORK/tokencache.conf" >"$out" 2>&1 || st=$?
	expect_eq "$st" 2 "exit status without --name" || return 1
	[ -z "$(ls -A "$WORK/creds")" ] || { echo "files written by a refused import"; return 1; }
	"$CTL" import-camunda "$WORK/console.txt" --name acme --audience tasklist \
	    --config "$WORK/tokencache.conf" >"$out" 2>&1 || { cat "$out"; return 1; }
	expect_grep "tokencached is not running" "$out" "message" || return 1
	expect_grep "acme.tasklist.conf" "$out" "message" || return 1
	[ ! -e "$WORK/creds/acme.zeebe.conf" ] || { echo "zeebe written, not asked for"; return 1; }
	tc_daemon_start || { cat "$WORK/daemon.log"; return 1; }
	token_of acme.tasklist "$WORK/tt" || { cat "$WORK/daemon.log"; return 1; }
	expect_eq "$(jwt_aud "$WORK/tt")" tasklist.camunda.io "aud of acme.tasklist's token" || return 1
}

tc_scenario t_camunda_import_no_daemon "import-camunda without a daemon: files written, served once it starts"

# A file a shell would run something from is refused with its line, and
# nothing is written; a console file changed to one the daemon refuses
# fails the reload with its file and line, and the old tokens stay.
t_camunda_refused() {
	local out=$WORK/import.out
	it_server main 3600 || return 1
	P=$PORT_main
	tc_config "$FAST_RATE" "$FAST_BURST"
	it_console "$WORK/console.txt"
	sed -i "3s/.*/export ZEEBE_CLIENT_ID=\$(touch $(echo "$WORK" | sed 's/[\/&]/\\&/g')\/pwned)\r/" "$WORK/console.txt"
	if "$CTL" import-camunda "$WORK/console.txt" --name acme \
	    --config "$WORK/tokencache.conf" >"$out" 2>&1; then
		echo "import of a file with \$(...) succeeded"
		return 1
	fi
	expect_grep "console.txt:3: '\\$' at column 24 would mean something to a shell" "$out" "message" || return 1
	[ -z "$(ls -A "$WORK/creds")" ] || { echo "files written"; ls "$WORK/creds"; return 1; }
	[ ! -e "$WORK/pwned" ] || { echo "the command ran"; return 1; }
	it_console "$WORK/console.txt"
	tc_daemon_start || { cat "$WORK/daemon.log"; return 1; }
	"$CTL" import-camunda "$WORK/console.txt" --name acme \
	    --config "$WORK/tokencache.conf" >"$out" 2>&1 || { cat "$out"; return 1; }
	token_of acme.zeebe "$WORK/tz" || return 1
	# The secret rotated by hand, with a typo: the reload is refused.
	sed -i "4s/.*/export ZEEBE_CLIENT_SECRET='new/" "$WORK/creds/acme.camunda"
	if ctl reload >"$out" 2>&1; then
		echo "reload with a broken console file succeeded"
		return 1
	fi
	expect_grep "acme.camunda:4: single quote at column 28 is not closed" "$out" "reload message" || return 1
	expect_eq "$(ctl token acme.zeebe)" "$(cat "$WORK/tz")" "token after the refused reload" || return 1
	# A token URL the daemon does not accept: the import's reload fails
	# with the daemon's FILE:LINE.
	cp "$WORK/console.txt" "$WORK/creds/acme.camunda"
	ctl reload >"$out" 2>&1 || { cat "$out"; echo "reload with the file mended failed"; return 1; }
	it_console "$WORK/other.txt"
	sed -i "s|_URL='http://127.0.0.1:[0-9]*/token'|_URL='http://login.example.com/t'|" "$WORK/other.txt"
	local st=0
	"$CTL" import-camunda "$WORK/other.txt" --name other \
	    --config "$WORK/tokencache.conf" >"$out" 2>&1 || st=$?
	expect_eq "$st" 1 "exit status of an import whose reload is refused" || return 1
	expect_grep "reload: .*: CAMUNDA_OAUTH_URL: token_url must use https://" "$out" "message" || return 1
}

tc_scenario t_camunda_refused "import-camunda refuses what a shell would run; a broken console file fails the reload with its line"

tc_main_if_run "${BASH_SOURCE[0]}" "$0"

# A console file whose token service answers 429 with Retry-After (the
# fault endpoint): both audiences fail, transiently, with the status and
# the server's words, and no request goes out again before the hold ends.
t_camunda_rate_limited() {
	it_fault_server || return 1
	tc_config
	local url="http://127.0.0.1:$PF/status?code=429&after=30"
	{
		echo "export ZEEBE_CLIENT_ID='it-post'"
		echo "export ZEEBE_CLIENT_SECRET='$POST_SECRET'"
		echo "export ZEEBE_TOKEN_AUDIENCE='zeebe.camunda.io'"
		echo "export CAMUNDA_CREDENTIALS_SCOPES='Zeebe,Operate'"
		echo "export CAMUNDA_OAUTH_URL='$url'"
	} >"$WORK/console.txt"
	"$CTL" import-camunda "$WORK/console.txt" --name slow \
	    --config "$WORK/tokencache.conf" >"$WORK/import.out" 2>&1 ||
	    { cat "$WORK/import.out"; return 1; }
	tc_daemon_start || return 1
	wait_json slow.zeebe 'j.http_status === 429' 10 || return 1
	wait_json slow.operate 'j.http_status === 429' 10 || return 1
	ctl show slow.zeebe --json >"$WORK/z" || return 1
	expect_grep "slow_down: injected 429" "$WORK/z" "last error" || return 1
	expect_eq "$(tc_json "$WORK/z" 'j.next_request_in_ms > 25000')" true \
	    "Retry-After honoured" || return 1
	expect_grep "slow.zeebe: fetch failed (transient" "$WORK/daemon.log" "log" || return 1
	sleep 3
	expect_eq "$(tc_fault_hits "/status?code=429&after=30" | wc -l)" 2 \
	    "requests during the hold" || return 1
}

tc_scenario t_camunda_rate_limited "a Camunda client whose token service answers 429: both audiences held by Retry-After"
