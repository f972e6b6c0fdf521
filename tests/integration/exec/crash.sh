#!/bin/sh
# crash.sh: an exec program that dies of a signal.
echo '{"version": 1, "access_token": "never-seen"'
kill -SEGV $$
