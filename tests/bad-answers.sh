#!/bin/bash
# A lying Plex: garbage, truncated, huge and empty answers are clean
# errors; recovery follows; an XML answer where JSON was asked is served.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_sim --no-eventsource
RETRY_MIN=1s RETRY_MAX=1s write_config

failures() { grep -c 'fetch failed\|no valid token' "$T/daemon.log"; }

sim_ctl '/mode?token=garbage'
start_daemon
for mode in garbage truncated huge empty; do
	sim_ctl "/mode?token=$mode"
	before=$(failures)
	more() { [ "$(failures)" -gt "$before" ]; }
	wait_for 5 more || fail "$mode: no failure seen"
	code=$(api GET /v1/servers/demo/token "$T/e.json")
	[ "$code" = 503 ] || fail "$mode: expected 503, got $code"
	kill -0 "$DAEMON_PID" || fail "$mode: daemon died"
done
grep -q 'malformed answer' "$T/daemon.log" || fail "no malformed reason"
grep -q 'larger than' "$T/daemon.log" || fail "no too-large reason"
pass "garbage, truncated, huge, empty: 503 and a reason, no crash"

sim_ctl '/mode?token=ok'
wait_for 5 get_token "$T/tok" || fail "no recovery"
sim_live "$T/tok" || fail "token not live"
pass "recovered when plex-sim answers well"

sim_ctl '/mode?token=xml'
sleep 0.1
code=$(api POST /v1/servers/demo/token/refresh "$T/x.json")
[ "$code" = 200 ] || fail "refresh with XML answers: $code"
jq -j .token "$T/x.json" > "$T/xml"
cat "$T/xml" >> "$T/secrets"; echo >> "$T/secrets"
cmp -s "$T/xml" "$T/tok" && fail "no new token from the XML answer"
sim_live "$T/xml" || fail "token from XML not live"
pass "XML answer where JSON was asked: parsed and served"
check_no_secrets
