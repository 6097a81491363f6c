#!/bin/bash
# A Plex restart kills the token: the daemon notices on its next check
# and serves a new, live token within verify_interval + 2 s.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_sim --no-eventsource
VERIFY_INTERVAL=2s write_config
start_daemon

wait_for 10 get_token "$T/old" || fail "no token"
sim_live "$T/old" || fail "token not live"
sim_ctl /restart
sim_live "$T/old" && fail "plex-sim restart did not kill the token"
t0=$(date +%s%N)

new_and_live() {
	get_token "$T/new" && ! cmp -s "$T/old" "$T/new" && sim_live "$T/new"
}
wait_for 4 new_and_live || fail "no new live token within 4 s"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
pass "new live token ${ms} ms after the restart (verify_interval 2 s)"

[ "$(grep -c 'restarted' "$T/daemon.log")" = 1 ] ||
    fail "the restart was not logged exactly once"
pass "restart logged once"

code=$(api GET /v1/servers/demo "$T/s.json")
jq -e '.state == "ready" and .consecutive_failures == 0' "$T/s.json" \
    >/dev/null || fail "status after restart: $(cat "$T/s.json")"
check_no_secrets
