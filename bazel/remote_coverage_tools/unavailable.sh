#!/bin/sh
echo "coverage tools are not available in pcusage's offline build" >&2
exit 1
