#!/bin/bash
# GET /v1/events: token and state events, never a token; idle streams
# hold no API thread; at most 64 subscribers; streams end at stop.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

SSE_PIDS=
trap 'r=$?; [ -z "$SSE_PIDS" ] || kill $SSE_PIDS 2>/dev/null; (exit $r);
    cleanup' EXIT

# sse FILE [curl args]: a subscriber in the background.
sse() {
	local out=$1
	shift
	curl -sN -D "$out.hdr" -o "$out" "$@" "$API/v1/events" &
	SSE_PIDS="$SSE_PIDS $!"
	LAST_SSE=$!
}

start_sim
VERIFY_INTERVAL=1s MIN_FORCED=1s write_config
start_daemon
wait_for 10 get_token "$T/tok1" || fail "no token served"

sse "$T/sse"
MAIN_SSE=$LAST_SSE
wait_for 5 grep -qs '^retry: 2000$' "$T/sse" || fail "no retry line"
grep -qi '^content-type: text/event-stream' "$T/sse.hdr" ||
    fail "not text/event-stream"
pass "the stream opens with retry: 2000"

code=$(api POST /v1/servers/demo/token/refresh "$T/r.json")
[ "$code" = 200 ] || fail "forced refresh: $code"
jq -j .token "$T/r.json" > "$T/tok2"
cat "$T/tok2" >> "$T/secrets"
echo >> "$T/secrets"
wait_for 5 grep -qs '^event: token$' "$T/sse" || fail "no token event"
grep -A1 '^event: token$' "$T/sse" | sed -n 's/^data: //p' | tail -n 1 |
    jq -e --arg e "$(jq -r .expires_at "$T/r.json")" '.server == "demo" and
    .expires_at == $e and (.issued_at | test("Z$")) and
    (keys == ["expires_at", "issued_at", "server"])' >/dev/null ||
    fail "token event: $(grep -A1 '^event: token$' "$T/sse")"
pass "a token event after a forced refresh"

# Idle streams are suspended: they must not hold the pool's threads.
for i in 1 2 3 4 5 6; do sse "$T/idle.$i"; done
for i in 1 2 3 4 5 6; do
	wait_for 5 grep -qs '^retry:' "$T/idle.$i" || fail "idle stream $i"
done
for i in $(seq 20); do
	echo "url = \"$API/healthz\""
	echo "output = /dev/null"
done > "$T/many.curl"
worst=$(curl -s -K "$T/many.curl" -w '%{time_total}\n' | sort -g |
    tail -n 1)
awk -v t="$worst" 'BEGIN { exit !(t < 0.1) }' ||
    fail "/healthz took $worst s with 7 streams open"
pass "7 open streams do not slow other requests (worst $worst s)"

sim_ctl /down
wait_for 10 grep -qs '^event: state$' "$T/sse" || fail "no state event"
grep -A1 '^event: state$' "$T/sse" | sed -n 's/^data: //p' |
    jq -e -s 'any(.[]; .server == "demo" and .event == "down" and
    (.state | type == "string"))' >/dev/null ||
    fail "state event: $(grep -A1 '^event: state$' "$T/sse")"
pass "a state event when the server goes down"
sim_ctl /up

for i in $(seq 7 64); do sse "$T/idle.$i"; done
full() { [ "$(grep -l '^retry:' "$T"/idle.* | wc -l)" -ge 63 ]; }
wait_for 10 full || fail "63 more subscribers did not all connect"
code=$(api GET /v1/events "$T/e.json" -m 2)
[ "$code" = 503 ] || fail "subscriber 65 got $code"
pass "the 65th subscriber gets 503"

for f in "$T"/sse "$T"/idle.*; do
	grep -qF "$(cat "$T/tok1")" "$f" && fail "a token in the stream"
	grep -qF "$(cat "$T/tok2")" "$f" && fail "a token in the stream"
done
pass "no token in any stream"

stop_daemon || fail "SIGTERM: exit status $?"
wait_for 5 bash -c "! kill -0 $MAIN_SSE 2>/dev/null" ||
    fail "a stream outlived the daemon"
wait "$MAIN_SSE"
rc=$?
[ "$rc" = 0 ] || fail "the stream did not end cleanly (curl exit $rc)"
pass "streams end cleanly at stop"
check_no_secrets
