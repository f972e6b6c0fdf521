#!/bin/sh
# noisy.sh PREFIX: an exec program that writes 10 MB to its stderr, far
# more than a pipe holds, before it prints its token: stderr must be
# drained as it comes, or it would block until the timeout.
head -c 10000000 /dev/zero | tr '\0' E >&2
printf '{"version": 1, "access_token": "%s.noisy"}\n' "$1"
