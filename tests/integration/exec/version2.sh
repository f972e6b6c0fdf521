#!/bin/sh
# version2.sh: an exec program that speaks a document version this
# tokencache does not know.
echo '{"version": 2, "credentials": {"token": "v2-token"}}'
