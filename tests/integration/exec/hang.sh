#!/bin/sh
# hang.sh MARKER: an exec program that never answers, with a child that
# does not either; MARKER, in both command lines, lets the scenario see
# that the timeout ended them both.
sh -c 'sleep 1000; :' "$1" &
wait
