# tests/container.sh - a clean Debian 12 booted with a real systemd, for
# the suites that need one (tests/integration/systemd.sh, tests/package.sh).
# Sourced after tests/integration/lib.sh.  The caller sets CT_SUITE (its
# name in the summary line) and CT_WHAT (what it tests, for skip lines),
# calls tc_workdir, then:
#
#   ct_require TOOL...         skip unless root with these tools
#   ct_root CACHE PKGS STAMP   $ROOT: a copy of a cached mmdebstrap root
#                              with PKGS (rebuilt when they change)
#   ct_boot                    boot $ROOT; $CT is the container's PID 1
#   in_ct CMD...  ct_wait SECONDS CMD...
#
# and on its way out ct_teardown (after saving what it wants from the
# container): the container stopped, nothing of it left running, no mount
# left below $ROOT, $ROOT removed unless KEEP=1, $WORK kept when a check
# failed.  nspawn needs -b --console=pipe --register=no --keep-unit here
# (PID 1 of this machine is not systemd).

pass=0
fail=0
NSPAWN=
CT=
ROOT=

skip() {
	echo "skip - $CT_WHAT ($1)"
	echo "$CT_SUITE: $pass passed, $fail failed, 1 skipped"
	exit 0
}
ok() { pass=$((pass + 1)); echo "ok   - $1"; }
not_ok() {
	fail=$((fail + 1))
	echo "FAIL - $1"
	shift
	[ $# -gt 0 ] && printf '       %s\n' "$@"
	return 0
}

ct_require() {
	local c
	[ "$(id -u)" = 0 ] || skip "needs root to build and boot a container"
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
		    skip "no $c here: tests/deps.sh installs it"
	done
}

# ct_root CACHE PKGS STAMP: PKGS (comma-separated) into the cached root
# CACHE (built aside and renamed into place: another run may be building
# too; STAMP, a path inside it, records what it holds), then a fresh copy
# of it in $ROOT.
ct_root() {
	local cache=$1 pkgs=$2 stamp=$3
	if [ ! -x "$cache/usr/lib/systemd/systemd" ] ||
	    [ "$(cat "$cache/$stamp" 2>/dev/null)" != "$pkgs" ]; then
		echo "building a Debian 12 root with mmdebstrap (about a minute; cached in $cache)..."
		if ! mmdebstrap --variant=minbase --include="$pkgs" \
		    bookworm "$cache.new.$$" >"$WORK/mmdebstrap.log" 2>&1; then
			tail -n 5 "$WORK/mmdebstrap.log"
			rm -rf --one-file-system "$cache.new.$$"
			skip "mmdebstrap could not build a bookworm root (no network or no Debian mirror?)"
		fi
		printf '%s\n' "$pkgs" >"$cache.new.$$/$stamp"
		rm -rf --one-file-system "$cache.old.$$"
		[ -e "$cache" ] && mv -T "$cache" "$cache.old.$$"
		mv -T "$cache.new.$$" "$cache" 2>/dev/null ||
		    rm -rf --one-file-system "$cache.new.$$"
		rm -rf --one-file-system "$cache.old.$$"
	fi
	ROOT=$(mktemp -d "/var/tmp/tc-$CT_SUITE.XXXXXX")
	cp -a "$cache/." "$ROOT/"
	chmod 0755 "$ROOT"
}

ct_boot() {
	local i state
	systemd-nspawn -q -D "$ROOT" -b --console=pipe --register=no --keep-unit \
	    >"$WORK/nspawn.log" 2>&1 </dev/null &
	NSPAWN=$!
	# The container's PID 1: nspawn's child, once it has become systemd.
	for i in $(seq 1 300); do
		CT=$(pgrep -P "$NSPAWN" -x systemd | head -n1)
		[ -n "$CT" ] && break
		sleep 0.1
	done
	[ -n "$CT" ] || { cat "$WORK/nspawn.log"; skip "systemd-nspawn did not boot the container"; }
	# Until its bus is up, systemctl cannot even ask.
	for i in $(seq 1 600); do
		state=$(in_ct systemctl is-system-running --wait 2>&1)
		case $state in
		running | degraded) break ;;
		esac
		sleep 0.1
	done
	case $state in
	running | degraded) ;;
	*) cat "$WORK/nspawn.log"; skip "the container's systemd did not come up ($state)" ;;
	esac
	echo "booted Debian 12 with $(in_ct systemctl --version | head -n1) (container pid $CT)"
}

# in_ct COMMAND...: run in the container, as root, with a clean
# environment (plus $CT_ENV's VAR=value words, and whatever VAR=value
# pairs the caller puts first).
in_ct() {
	nsenter -t "$CT" -a env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	    HOME=/root LANG=C.UTF-8 ${CT_ENV:-} "$@"
}
ct_wait() {	# SECONDS COMMAND...: until COMMAND succeeds in the container
	local n=$(($1 * 10)) i
	shift
	for i in $(seq 1 "$n"); do
		in_ct "$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
# ct_running: is the container there to ask?
ct_running() { [ -n "$CT" ] && kill -0 "$CT" 2>/dev/null; }

ct_teardown() {
	local i m
	if [ -n "$NSPAWN" ] && kill -0 "$NSPAWN" 2>/dev/null; then
		# systemd-nspawn shuts the container down on SIGTERM.
		kill "$NSPAWN"
		for i in $(seq 1 200); do
			kill -0 "$NSPAWN" 2>/dev/null || break
			sleep 0.1
		done
		# Still there: the container's init first (its whole PID
		# namespace goes with it), then nspawn.  Gone: neither pid is
		# ours to signal any more.
		if kill -0 "$NSPAWN" 2>/dev/null; then
			[ -n "$CT" ] && kill -KILL "$CT" 2>/dev/null
			kill -KILL "$NSPAWN" 2>/dev/null
		fi
		wait "$NSPAWN" 2>/dev/null
	fi
	# nspawn mounts in its own namespace; anything in ours is a leak.
	if [ -n "$ROOT" ]; then
		for m in $(awk -v r="$ROOT" '$5 == r || index($5, r "/") == 1 { print $5 }' \
		    /proc/self/mountinfo | sort -r); do
			umount -l "$m" || echo "cannot unmount $m"
		done
	fi
	tc_stop_all
	if [ "${KEEP:-0}" = 1 ]; then
		[ -n "$ROOT" ] && echo "kept: $ROOT (the container's root)"
	elif [ -n "$ROOT" ] && [ -d "$ROOT" ]; then
		rm -rf --one-file-system "$ROOT"
	fi
	if [ "${KEEP:-0}" = 1 ] || [ $fail -gt 0 ]; then
		echo "kept: $WORK (logs, the container's journal)"
	else
		rm -rf "$WORK"
	fi
}
