#!/bin/sh
# fail.sh: an exec program that fails, saying why on stderr.
echo >&2
printf 'fail.sh: the vault is sealed\033[2J\nsecond line\n' >&2
exit 3
