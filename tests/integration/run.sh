#!/usr/bin/env bash
# Integration tests: a real OAuth 2.0 server (oidc-provider, pinned in
# tests/oauth-server), the real tokencached, the real client library and
# tokencachectl.  Only 127.0.0.1 is ever contacted.
#
#   bash tests/integration/run.sh          (make check-integration)
#   ONLY=REGEX bash tests/integration/run.sh
#                                 only the scenarios whose function name
#                                 matches (each sets up all it needs)
#   JOBS=N bash tests/integration/run.sh   N scenarios at once (default:
#                                 the number of CPUs)
#   KEEP=1 bash tests/integration/run.sh   keep the work directories
#   bash tests/integration/access.sh       one area file alone
#   bash tests/integration/each.sh         every scenario alone, in turn
#
# The scenarios live in one file per area; lib.sh has the fixtures and the
# runner (how a scenario is written: the comment at its "scenarios" part).
# B is the build directory (default build/; make check SANITIZE=address
# passes build-address/).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/integration/lib.sh"

# The longest first, so that the two cores stay busy to the end.
for area in sched endpoint resources restart harden faults exec fetch \
    access check metrics watch \
    reload segment privsep cli status modules camunda oauth2 clients log; do
	. "$TOP/tests/integration/$area.sh"
done

tc_suite
