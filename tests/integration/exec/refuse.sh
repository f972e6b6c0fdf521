#!/bin/sh
# refuse.sh: an exec program that fails with an error document.
echo '{"version": 1, "error": "refuse.sh: account disabled", "permanent": true}'
exit 1
