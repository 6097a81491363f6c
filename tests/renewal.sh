#!/bin/bash
# Renewal before the assumed expiry, with no gap in service, and a sink
# file that always holds a whole, current token.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_sim
mkdir -p "$T/sink"
LIFETIME=8s REFRESH_BEFORE=4s VERIFY_INTERVAL=5s write_config \
    "sinks = ( { server = \"demo\"; path = \"$T/sink/demo.token\";
                 mode = \"0640\"; } );"
start_daemon

wait_for 10 get_token "$T/first" || fail "no first token"
wait_for 5 test -s "$T/sink/demo.token" || fail "sink not written"
[ "$(stat -c %a "$T/sink/demo.token")" = 640 ] || fail "sink mode"

# Read the API and the sink for 10 s (more than a lifetime).
end=$(( $(date +%s) + 10 ))
n=0
: > "$T/seen"
while [ "$(date +%s)" -lt "$end" ]; do
	code=$(api GET /v1/servers/demo/token "$T/t.json")
	[ "$code" = 200 ] || fail "gap in service: $code after $n reads"
	jq -j .token "$T/t.json" >> "$T/seen"
	echo >> "$T/seen"
	cp "$T/sink/demo.token" "$T/sinkcopy"
	grep -qxE '[A-Za-z0-9._~+/=-]+' "$T/sinkcopy" &&
	    [ "$(wc -l < "$T/sinkcopy")" = 1 ] ||
	    fail "sink held a partial or empty token after $n reads"
	cat "$T/sinkcopy" >> "$T/sinkseen"
	n=$((n + 1))
	sleep 0.02
done
sort -u "$T/seen" >> "$T/secrets"
distinct=$(sort -u "$T/seen" | wc -l)
[ "$distinct" -ge 2 ] || fail "no renewal within 10 s ($distinct token)"
pass "$n reads over 10 s, all 200, $distinct tokens: renewed with no gap"

# Each token was renewed before its assumed expiry: with lifetime 8 s
# and refresh_before 4 s, at most 3 tokens in 10 s and at least 2.
[ "$distinct" -le 3 ] || fail "$distinct tokens in 10 s: renewed too often"
grep -c 'new token' "$T/daemon.log" > "$T/renewals"
pass "renewal schedule: $(cat "$T/renewals") tokens logged"

# The sink never held anything but tokens the API served.
sort -u "$T/sinkseen" | while read -r tok; do
	grep -qxF "$tok" "$T/seen" || fail "sink held a token never served"
done
pass "sink file always whole and current, mode 0640"

# The current token is live in plex-sim.
get_token "$T/now" && sim_live "$T/now" || fail "current token not live"
check_no_secrets
