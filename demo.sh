#!/bin/sh
# Quick start: install the dependencies, build, then run plex-tokend
# against the bundled Plex simulator and fetch a token through the API.
set -eu
cd "$(dirname "$0")"
./scripts/install-deps
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure --enable-werror
make -j2 all tests/plex-sim >/dev/null
exec ./scripts/demo-run
