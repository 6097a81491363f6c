#!/bin/bash
# Plex down for a while: the cached token is served; when Plex returns,
# the daemon checks at once (within the backoff cap).  Plex failing from
# the start: 503 with Retry-After, and retries back off.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_sim --no-eventsource
VERIFY_INTERVAL=1s RETRY_MIN=1s RETRY_MAX=2s write_config
start_daemon

wait_for 10 get_token "$T/tok" || fail "no token"
sim_ctl /down
wait_for 5 grep -q 'server down' "$T/daemon.log" ||
    fail "the outage was not noticed"
for i in $(seq 20); do
	get_token "$T/during" || fail "no token while Plex is down"
	cmp -s "$T/tok" "$T/during" || fail "a different token while down"
	sleep 0.1
done
jq -e '.state == "stale"' <(curl -s "$API/v1/servers/demo") >/dev/null ||
    fail "state is not stale while down"
pass "cached token served while Plex is down (state stale)"

sim_ctl /reset-stats
sim_ctl /up
t0=$(date +%s%N)
verified() { [ "$(sim_stat verify)" -ge 1 ]; }
wait_for 4 verified ||
    fail "no verification within 4 s of Plex returning"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
wait_for 3 grep -q 'answers again' "$T/daemon.log" || fail "no up notice"
pass "verified ${ms} ms after Plex returned (backoff cap 2 s)"
[ "$(grep -c 'server down' "$T/daemon.log")" = 1 ] ||
    fail "the outage was logged more than once"
pass "the outage was logged once"
stop_daemon || fail "exit status"

# Plex answering 500 from the start.
sim_ctl '/mode?token=500'
sim_ctl /reset-stats
rm -rf "$T/state"
RETRY_MIN=1s RETRY_MAX=5m write_config
start_daemon
wait_for 5 grep -q 'no valid token' "$T/daemon.log" || fail "no error"
curl -s -D "$T/hdr" -o "$T/e.json" "$API/v1/servers/demo/token"
grep -q '^HTTP/1.1 503' "$T/hdr" || fail "expected 503"
grep -qi '^retry-after: [0-9]' "$T/hdr" || fail "503 without Retry-After"
jq -e '.error.code == "upstream_error" and
    (.error.message | test("HTTP 500"))' "$T/e.json" >/dev/null ||
    fail "503 body: $(cat "$T/e.json")"
pass "503 + Retry-After + why, while Plex answers 500"
sleep 10
n=$(sim_stat security_token)
kill -0 "$DAEMON_PID" || fail "daemon died"
[ "$n" -le 8 ] && [ "$n" -ge 2 ] ||
    fail "$n upstream requests in ~10 s: no visible backoff"
pass "$n upstream requests in ~10 s of failures (backoff)"
[ "$(grep -c 'no valid token' "$T/daemon.log")" = 1 ] ||
    fail "failure logged more than once"
sim_ctl '/mode?token=ok'
curl -s -X POST -o /dev/null "$API/v1/servers/demo/token/refresh"
wait_for 70 get_token "$T/back" || fail "no recovery"
pass "recovered once Plex answers again"
check_no_secrets
