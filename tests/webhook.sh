#!/bin/bash
# Webhooks: a local receiver gets refresh and restart events as JSON,
# with the token only where include_token = true.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

SINK=$top_builddir/tests/webhook-sink
"$SINK" --out "$T/hooks.log" --port-file "$T/sink.port" &
SINK_PID=$!
trap 'r=$?; kill "$SINK_PID" 2>/dev/null; (exit $r); cleanup' EXIT
wait_for 10 test -s "$T/sink.port" || fail "webhook-sink did not start"
SINK_URL=http://127.0.0.1:$(cat "$T/sink.port")

start_sim
VERIFY_INTERVAL=1s write_config "hooks = (
  { on = [ \"refresh\", \"restart\" ]; server = \"demo\";
    webhook = \"$SINK_URL/plain\"; timeout = \"5s\"; },
  { on = [ \"refresh\" ]; server = \"*\";
    webhook = \"$SINK_URL/with-token?id=s3cr3t-id\"; include_token = true; }
);"
start_daemon

wait_for 10 get_token "$T/tok1" || fail "no token served"
seen() { grep -q "^POST $1 .*\"event\":\"$2\"" "$T/hooks.log" 2>/dev/null; }
wait_for 10 seen /plain refresh || fail "no refresh webhook"
wait_for 10 seen /with-token refresh || fail "no refresh webhook with token"

# The bodies, one JSON document a line.
bodies() { grep "^POST $1 " "$T/hooks.log" | cut -d' ' -f4-; }
bodies /plain | jq -e -s 'all(.[]; .server == "demo" and
    (.at | test("Z$")) and (has("token") | not))' >/dev/null ||
    fail "plain webhook body: $(bodies /plain | head -n 1)"
bodies /plain | jq -e -s --arg e "$(jq -r .expires_at "$T/tok.json")" \
    'map(select(.event == "refresh")) | .[0].expires_at == $e' \
    >/dev/null || fail "plain webhook expires_at"
grep -v "^POST [^ ]* application/json " "$T/hooks.log" &&
    fail "a webhook without Content-Type: application/json"
bodies /with-token | jq -e -s --arg t "$(cat "$T/tok1")" \
    '.[0].token == $t and .[0].event == "refresh"' >/dev/null ||
    fail "include_token = true: the token is not in the body"
pass "refresh: JSON, the token only with include_token"

sim_ctl /restart
wait_for 10 seen /plain restart || fail "no restart webhook"
two_refreshes() {
	[ "$(bodies /plain | grep -c '"event":"refresh"')" -ge 2 ]
}
wait_for 10 two_refreshes || fail "no refresh after the restart"
wait_for 10 get_token "$T/tok2" || fail "no token after the restart"
for t in "$T/tok1" "$T/tok2"; do
	bodies /plain | grep -qF "$(cat "$t")" &&
	    fail "a token reached the webhook without include_token"
done
pass "restart and the refresh after it"

grep -q "webhook $SINK_URL/… for demo refresh: delivered (HTTP 200)" \
    "$T/daemon.log" || fail "delivery not logged"
grep -q 's3cr3t-id' "$T/daemon.log" && fail "the webhook's query is logged"
pass "delivery logged, without the URL's path or query"

stop_daemon || fail "SIGTERM: exit status $?"
check_no_secrets
