#!/bin/bash
# GET …/token?min_valid renews first when the token expires sooner;
# /readyz says whether every server has a valid token.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_sim --no-eventsource --delay-ms 300
LIFETIME=30s REFRESH_BEFORE=2s VERIFY_INTERVAL=20s write_config
start_daemon

code=$(api GET /readyz "$T/r.json")
[ "$code" = 503 ] && jq -e '.servers == ["demo"]' "$T/r.json" >/dev/null ||
    fail "readyz before the first token: $code $(cat "$T/r.json")"
pass "/readyz 503 naming the server before its first token"
wait_for 10 get_token "$T/t1" || fail "no token"
code=$(api GET /readyz "$T/r.json")
[ "$code" = 200 ] || fail "readyz with a token: $code"
pass "/readyz 200 once every server has a token"

sim_ctl /reset-stats
code=$(api GET '/v1/servers/demo/token?min_valid=10s' "$T/a.json")
[ "$code" = 200 ] || fail "min_valid 10s: $code"
[ "$(sim_stat security_token)" = 0 ] || fail "min_valid 10s renewed"
pass "min_valid shorter than what is left: served from the cache"

sleep 2
code=$(api GET '/v1/servers/demo/token?min_valid=29s' "$T/b.json")
[ "$code" = 200 ] || fail "min_valid 29s: $code"
jq -e '.expires_in >= 29' "$T/b.json" >/dev/null || fail "too short"
jq -j .token "$T/b.json" > "$T/t2"
cat "$T/t2" >> "$T/secrets"; echo >> "$T/secrets"
cmp -s "$T/t1" "$T/t2" && fail "min_valid did not renew"
[ "$(sim_stat security_token)" = 1 ] || fail "not exactly one renewal"
pass "min_valid longer than what is left: renewed first, once"

code=$(api GET '/v1/servers/demo/token?min_valid=1h' "$T/c.json")
[ "$code" = 400 ] || fail "min_valid beyond the lifetime: $code"
pass "min_valid beyond the lifetime: 400"

stop_daemon
check_no_secrets
