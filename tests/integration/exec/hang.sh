#!/bin/sh
# hang.sh SECONDS: an exec program that does not answer for SECONDS, with
# a child and a grandchild that do not either; SECONDS, in all three
# command lines, lets the scenario see that the timeout ended them all.
sh -c 'sleep "$0"; :' "$1" &
wait
