#!/bin/sh
# huge.sh: an exec program that prints megabytes (and would print more).
printf '{"version": 1, "access_token": "'
while :; do
	head -c 4194304 /dev/zero | tr '\0' A
done
