#!/bin/sh
# garbage.sh: an exec program that prints no JSON.
printf '<html><body>503 Service Unavailable</body></html>\r\n'
