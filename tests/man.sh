#!/bin/bash
# Both man pages render without a warning from man or groff.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

command -v man >/dev/null || {
	echo "SKIP: man not found (Debian package man-db)"
	exit 77
}
for page in plex-tokend.8 plex-tokend.conf.5; do
	f=$top_srcdir/man/$page
	MANWIDTH=80 man --warnings -l "$f" > "$T/out" 2> "$T/warn" ||
	    fail "man -l $page failed: $(cat "$T/warn")"
	[ -s "$T/warn" ] && fail "$page: $(cat "$T/warn")"
	[ -s "$T/out" ] || fail "$page renders empty"
	pass "$page renders without warnings"
done
