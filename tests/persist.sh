#!/bin/bash
# The daemon's own restarts: the token is kept on disk (0600), verified
# at start and served without a new upstream request; a corrupt or
# foreign state file is logged and ignored.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_sim --no-eventsource
write_config
start_daemon
wait_for 10 get_token "$T/first" || fail "no token"
stop_daemon || fail "stop"
[ -f "$T/state/demo.json" ] || fail "no state file"
[ "$(stat -c %a "$T/state/demo.json")" = 600 ] || fail "state not 0600"
[ "$(stat -c %a "$T/state/client-id")" != "" ] || fail "no client id"
pass "state file kept, mode 0600"

sim_ctl /reset-stats
start_daemon
wait_for 10 get_token "$T/second" || fail "no token after restart"
cmp -s "$T/first" "$T/second" || fail "a different token after restart"
[ "$(sim_stat security_token)" = 0 ] || fail "asked Plex for a new token"
[ "$(sim_stat verify)" -ge 1 ] || fail "restored token not verified"
grep -q 'restored saved token' "$T/daemon.log" || fail "no restore log"
pass "same token after a restart, verified, no new upstream request"
stop_daemon

# A restored token that Plex no longer accepts is replaced.
sim_ctl /restart
start_daemon
wait_for 10 get_token "$T/third" || fail "no token"
cmp -s "$T/first" "$T/third" && fail "served a dead restored token"
sim_live "$T/third" || fail "token not live"
pass "a dead saved token is replaced at start"
stop_daemon

# Corrupt: ignored, logged, a new token fetched.
printf '{"version":1,"server":"demo","tok' > "$T/state/demo.json"
chmod 600 "$T/state/demo.json"
start_daemon
wait_for 10 get_token "$T/fourth" || fail "no token with a corrupt state"
grep -q 'ignoring saved state' "$T/daemon.log" || fail "corruption silent"
pass "a corrupt state file is logged and ignored"
stop_daemon

# Foreign: the admin token changed, the saved token is not used.
printf 'canary-admin-other%s\n' "$RANDOM" > "$T/admin2.token"
chmod 600 "$T/admin2.token"
cat "$T/admin2.token" >> "$T/secrets"
sed -i "s|$T/admin.token|$T/admin2.token|" "$T/tokend.conf"
start_daemon
wait_for 5 grep -q 'ignoring saved state.*another' "$T/daemon.log" ||
    fail "a state file for another admin token was not ignored"
pass "a state file bound to another admin token is ignored"
check_no_secrets
