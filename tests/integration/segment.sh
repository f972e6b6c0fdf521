#!/usr/bin/env bash
# segment.sh - the shared segment and its readers: the file abused
# under running readers, the C API, the hot path without system calls, a
# client out of descriptors.
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/segment.sh
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Readers map a sealed memfd, never runtime_dir/cache: truncating,
# deleting or replacing that file cannot crash them (it used to be SIGBUS).
# The daemon notices on its tick and writes a new copy; a restart adopts.
t_segment_file_abuse() {
	it_std || return 1
	wait_settled || return 1
	local tok before size i n r=$WORK/abuse f=$WORK/run/cache
	tok=$(ctl token opaque-post) || return 1
	size=$(stat -c %s "$f")
	before=$(tc_stats "$P")
	tc_readers_start "$r" 1 6 14 opaque-post
	wait_first_token $(seq -f "$r.%g.out" 1 6) || return 1
	# (a) truncated, to nothing and to less than a header.
	for n in 0 100; do
		truncate -s "$n" "$f" || return 1
		for i in $(seq 1 100); do
			[ "$(stat -c %s "$f")" = "$size" ] && break
			sleep 0.1
		done
		expect_eq "$(stat -c %s "$f")" "$size" "size after truncate -s $n" || return 1
	done
	wait_grep "cache was truncated or extended; wrote a new copy" "$WORK/daemon.log" 10 || return 1
	ctl list | grep -q '^opaque-post ' || { echo "list after the repair"; return 1; }
	# (b) deleted.
	rm -f "$f"
	for i in $(seq 1 100); do [ -e "$f" ] && break; sleep 0.1; done
	expect_eq "$(stat -c %s "$f")" "$size" "size after delete" || return 1
	wait_grep "cache was deleted; wrote a new copy" "$WORK/daemon.log" 10 || return 1
	expect_eq "$(stat -c %a "$f")" 644 "mode of the new copy" || return 1
	# (c) replaced with garbage of the right size.
	head -c "$size" /dev/urandom >"$WORK/garbage"
	cp "$WORK/garbage" "$f.tmp" && mv "$f.tmp" "$f"
	for i in $(seq 1 100); do cmp -s "$WORK/garbage" "$f.old" && break; sleep 0.1; done
	cmp -s "$WORK/garbage" "$f.old" || { echo "cache.old does not hold the garbage"; return 1; }
	for i in $(seq 1 100); do ! cmp -s "$WORK/garbage" "$f" && break; sleep 0.1; done
	wait_grep "cache was replaced; wrote a new copy" "$WORK/daemon.log" 10 || return 1
	# (d) a restart adopts the repaired copy: no request for a token
	# that is not due.
	before=$(tc_stats "$P")
	n=$(grep -c "adopted the existing cache" "$WORK/daemon.log")
	tc_daemon_stop TERM || return 1
	tc_daemon_start || return 1
	expect_eq "$(grep -c "adopted the existing cache" "$WORK/daemon.log")" $((n + 1)) "adoptions logged" || return 1
	expect_eq "$(ctl token opaque-post)" "$tok" "token after restart" || return 1
	tc_readers_ok "$r" 6 || return 1
	for i in $(seq 1 6); do
		expect_eq "$(sort -u "$r.$i.out")" "$tok" "reader $i: tokens seen" || return 1
	done
	expect_eq "$(tc_stats "$P")" "$before" "requests after the restart" || return 1
	# Truncated while no daemon runs: tokencachectl says so; the next
	# daemon keeps it aside and starts afresh.
	tc_daemon_stop TERM || return 1
	truncate -s 100 "$f"
	ctl list >"$WORK/abuse.list" 2>&1 && { echo "list read a truncated copy"; return 1; }
	expect_grep "corrupt" "$WORK/abuse.list" "list on a truncated copy" || return 1
	tc_daemon_start || return 1
	expect_eq "$(stat -c %s "$f.old")" 100 "the truncated copy kept" || return 1
	expect_grep "cache: token cache is corrupt; not adopted" "$WORK/daemon.log" "log" || return 1
	ctl token opaque-post --wait 15 >"$WORK/t1" || return 1
}

tc_scenario t_segment_file_abuse "segment file truncated, deleted, replaced under 6 readers: no crash, rewritten, adopted"

t_c_api_reader() {
	it_std || return 1
	token_of opaque-post "$WORK/t1" || return 1
	"$B/tests/tc-reader" "$WORK/run" opaque-post >"$WORK/c.out" || return 1
	expect_eq "$(head -n1 "$WORK/c.out")" "$(ctl token opaque-post)" "token via C" || return 1
}

tc_scenario t_c_api_reader "a C program using the shared library reads the token, also after fork"

# The hot path makes no system call: under strace, nothing stands between
# the two getppid() calls that bracket 1000 reads in tc-reader.
t_hot_path_no_syscalls() {
	it_std || return 1
	token_of opaque-post "$WORK/t1" || return 1
	command -v strace >/dev/null || { echo "strace not installed (tests/deps.sh installs it)"; return 1; }
	ASAN_OPTIONS=detect_leaks=0 strace -o "$WORK/strace.out" \
	    "$B/tests/tc-reader" "$WORK/run" opaque-post >/dev/null || return 1
	awk '/getppid/ { n++; next } n == 1 { print; bad++ } END { exit (n >= 2 && !bad) ? 0 : 1 }' \
	    "$WORK/strace.out" || { echo "system calls inside the hot loop (or no markers)"; return 1; }
}

tc_scenario t_hot_path_no_syscalls "the hot read path makes no system call (strace)"

t_res_client_emfile() {
	it_std || return 1
	token_of opaque-post "$WORK/t1" || return 1
	"$B/tests/tc-resource" client "$WORK/run" opaque-post
}

tc_scenario t_res_client_emfile "client out of descriptors: clear error, then works; hot path needs none"

tc_main_if_run "${BASH_SOURCE[0]}" "$0"
