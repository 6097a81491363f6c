#!/bin/bash
# A graceful stop: callers waiting on Plex get a whole answer, the
# daemon exits 0 within the 5 s grace, and the token it had is kept.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_sim --no-eventsource --delay-ms 4000
write_config
start_daemon

# A caller waits for the first token while Plex is slow.
curl -s -o "$T/w.json" -w '%{http_code}' "$API/v1/servers/demo/token" \
    > "$T/w.code" &
waiter=$!
asked() { [ "$(sim_stat security_token)" -ge 1 ]; }
wait_for 5 asked || fail "no upstream request"
wait_for 5 grep -q 'api: GET /v1/servers/demo/token' "$T/daemon.log" ||
    fail "the caller did not arrive"
t0=$(date +%s%N)
stop_daemon || fail "exit status $? on SIGTERM"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
wait "$waiter"
[ "$(cat "$T/w.code")" = 503 ] &&
    jq -e '.error.code' "$T/w.json" >/dev/null ||
    fail "the waiting caller got $(cat "$T/w.code"), not a whole 503"
[ "$ms" -lt 5000 ] || fail "stop took $ms ms"
pass "a waiting caller got a whole 503; stopped in $ms ms, exit 0"

# With a token: stop, start, the same token (persisted on renewal).
sim_ctl '/delay?ms=0'
start_daemon
wait_for 10 get_token "$T/a" || fail "no token"
stop_daemon || fail "exit status"
start_daemon
get_token "$T/b" && cmp -s "$T/a" "$T/b" || fail "token not kept"
pass "the token survives a stop"
check_no_secrets
