#!/bin/bash
# The generated unit passes "systemd-analyze verify", and its exposure in
# "systemd-analyze security --offline=true" stays at 1.2 or less.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

MAX_EXPOSURE=1.2
command -v systemd-analyze >/dev/null || {
	echo "SKIP: systemd-analyze not found (Debian package systemd)"
	exit 77
}
UNIT=$top_builddir/systemd/plex-tokend.service
[ -f "$UNIT" ] || fail "$UNIT was not made (make check makes it)"
grep -q '@[a-z]*@' "$UNIT" && fail "unsubstituted @var@ left in $UNIT"
pass "the unit is generated"

# verify wants ExecStart= to exist: point it at the binary just built.
mkdir -p "$T/units"
sed "s|^ExecStart=[^ ]*|ExecStart=$TOKEND|" "$UNIT" \
    > "$T/units/plex-tokend.service"
cp "$top_srcdir/systemd/plex-tokend.socket" "$T/units/"
(cd "$T/units" && systemd-analyze verify --man=no \
    plex-tokend.service plex-tokend.socket) > "$T/verify" 2>&1 ||
    fail "systemd-analyze verify: $(cat "$T/verify")"
[ -s "$T/verify" ] && fail "systemd-analyze verify warns: $(cat "$T/verify")"
pass "systemd-analyze verify"

systemd-analyze security --offline=true --no-pager \
    "$T/units/plex-tokend.service" > "$T/security" 2>&1 || {
	if grep -q 'unrecognized option' "$T/security"; then
		echo "SKIP: security --offline needs systemd 250 or later"
		exit 77
	fi
	fail "systemd-analyze security: $(tail -n 5 "$T/security")"
}
exposure=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p' \
    "$T/security")
[ -n "$exposure" ] || fail "no exposure level in: $(tail -n 3 "$T/security")"
awk -v e="$exposure" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e <= m) }' || {
	grep '✗' "$T/security"
	fail "exposure $exposure is above $MAX_EXPOSURE"
}
pass "exposure $exposure (at most $MAX_EXPOSURE)"
