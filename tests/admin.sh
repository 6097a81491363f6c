#!/bin/bash
# A refused admin token is reported once, loudly, as what it is, and
# retried only at retry_max pace; it is never taken for a restart.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_sim --no-eventsource
sim_ctl '/mode?token=401'
RETRY_MIN=1s RETRY_MAX=3s write_config
start_daemon

wait_for 5 grep -q 'refused the admin token' "$T/daemon.log" ||
    fail "admin refusal not reported"
code=$(api GET /v1/servers/demo/token "$T/e.json")
[ "$code" = 503 ] &&
    jq -e '.error.code == "admin_token_refused"' "$T/e.json" >/dev/null ||
    fail "expected 503 admin_token_refused, got $code $(cat "$T/e.json")"
pass "503 admin_token_refused"

sim_ctl /reset-stats
sleep 7
n=$(sim_stat security_token)
[ "$n" -ge 2 ] && [ "$n" -le 3 ] ||
    fail "$n requests in 7 s: not at retry_max (3 s) pace"
pass "$n upstream requests in 7 s (retry_max 3 s)"
[ "$(grep -c 'refused the admin token' "$T/daemon.log")" = 1 ] ||
    fail "the refusal was logged more than once"
grep -q 'restart' "$T/daemon.log" && fail "refusal taken for a restart"
grep -E 'error: demo: Plex refused the admin token .*reload' \
    "$T/daemon.log" >/dev/null || fail "the error says what to do"
pass "reported once, at error level, with the remedy; no restart"

sim_ctl '/mode?token=ok'
wait_for 5 get_token "$T/tok" || fail "no recovery"
grep -q 'recovered' "$T/daemon.log" || fail "recovery not logged"
pass "recovered"
check_no_secrets
