#!/bin/bash
# Restarts noticed through the server's event stream, within a second of
# Plex answering again, with verify_interval far too long to explain it.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_sim --ping-ms 200
VERIFY_INTERVAL=60s write_config
start_daemon

detection() {
	curl -s "$API/v1/servers/demo" | jq -r .restart_detection
}
following() { [ "$(detection)" = event-stream ]; }
wait_for 10 get_token "$T/old" || fail "no token"
wait_for 5 following || fail "not following the event stream"
pass "status says restart_detection: event-stream"

# A restart: plex-sim down 1 s, then back with every token dead.
sim_ctl '/restart?down_ms=1000'
up_ms=$(sim_stat up_since_ms)
new_and_live() {
	get_token "$T/new" && ! cmp -s "$T/old" "$T/new" && sim_live "$T/new"
}
wait_for 5 new_and_live || fail "no new live token after the restart"
now_ms=$(( $(date +%s%N) / 1000000 ))
lag=$(( now_ms - up_ms ))
[ "$lag" -le 1000 ] || fail "new token ${lag} ms after plex-sim came back"
pass "new live token within ${lag} ms of plex-sim accepting connections"
wait_for 5 following || fail "stream not followed again"
[ "$(grep -c 'server restarted' "$T/daemon.log")" = 1 ] ||
    fail "the restart was not reported exactly once"
pass "restart reported once"

# Down for 5 s without a restart: reconnects back off, no renewals,
# the old token is served meanwhile.
get_token "$T/cur"
sim_ctl /reset-stats
before=$(grep -c 'event stream: connecting' "$T/daemon.log")
sim_ctl /down
t_end=$(( $(date +%s) + 5 ))
while [ "$(date +%s)" -lt "$t_end" ]; do
	get_token "$T/during" && cmp -s "$T/cur" "$T/during" ||
	    fail "the cached token was not served while plex-sim was down"
	sleep 0.2
done
sim_ctl /up
wait_for 5 following || fail "stream not back after the outage"
attempts=$(( $(grep -c 'event stream: connecting' "$T/daemon.log") -
    before ))
[ "$attempts" -ge 3 ] && [ "$attempts" -le 30 ] ||
    fail "$attempts reconnect attempts in 5 s"
pass "$attempts reconnect attempts over a 5 s outage (backoff, capped)"
[ "$(sim_stat security_token)" = 0 ] || fail "renewal storm after outage"
pass "no renewal after an outage without a restart"
curl -s "$API/metrics" > "$T/metrics"
grep -qx 'plex_tokend_event_stream_up{server="demo"} 1' "$T/metrics" ||
    fail "metrics: stream not up"
n=$(sed -n 's/^plex_tokend_event_stream_reconnects_total{server="demo"} //p' \
    "$T/metrics")
[ "${n:-0}" -ge 2 ] || fail "metrics: $n reconnects after two losses"
pass "metrics: stream up, $n reconnects"

# A silent stream is noticed after three ping intervals (once the
# daemon has seen a few pings to learn the interval from).
sleep 1
sim_ctl '/mode?stream=silent'
wait_for 5 grep -q "silent for three ping intervals" "$T/daemon.log" ||
    fail "a silent stream went unnoticed"
pass "silent stream noticed"
sim_ctl '/mode?stream=ok'
stop_daemon

# A server without the stream: polling only, and the status says so.
kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null
start_sim --no-eventsource
VERIFY_INTERVAL=60s write_config
start_daemon
wait_for 10 get_token "$T/x" || fail "no token"
wait_for 5 grep -q 'offers no event stream' "$T/daemon.log" ||
    fail "no notice of polling"
[ "$(detection)" = polling ] || fail "status does not say polling"
pass "no event stream: polling alone, status says so"
check_no_secrets
