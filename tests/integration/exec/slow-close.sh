#!/bin/sh
# slow-close.sh SECONDS PREFIX: an exec program that prints its token,
# closes its stdout and runs on for SECONDS before it exits.
printf '{"version": 1, "access_token": "%s.slow", "expires_in": 600}\n' "$2"
exec >&-
sleep "$1"
