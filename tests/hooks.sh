#!/bin/bash
# Command hooks: the token on stdin only, exactly the documented
# environment, killed past their timeout, and never in the way of a
# renewal.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

# Records argv, the environment as exec'd and stdin, then says so.
cat > "$T/record.sh" <<EOF
#!/bin/bash
d=$T/rec.\$PLEX_TOKEND_EVENT.\$\$
mkdir "\$d"
printf '%s\n' "\$@" > "\$d/argv"
tr '\0' '\n' < /proc/\$\$/environ > "\$d/env"
cat > "\$d/stdin"
echo "recorded \$PLEX_TOKEND_EVENT for \$PLEX_TOKEND_SERVER"
touch "\$d/done"
EOF
# Writes its process group to slow.NAME.pid, then sleeps forever.
cat > "$T/slow.sh" <<EOF
#!/bin/bash
echo "\$(ps -o pgid= -p \$\$ | tr -d ' ')" > "$T/slow.\$1.tmp"
mv "$T/slow.\$1.tmp" "$T/slow.\$1.pid"
echo "slow hook \$1 sleeping"
sleep 100000
EOF
chmod 700 "$T/record.sh" "$T/slow.sh"

# Is any process of group $1 alive?
group_alive() {
	ps -eo pgid= | tr -d ' ' | grep -qx "$1"
}

start_sim
MIN_FORCED=1s write_config "hooks = (
  { on = [ \"refresh\" ]; server = \"demo\";
    command = [ \"$T/record.sh\", \"--flag\", \"two words\" ]; },
  { on = [ \"refresh\" ]; server = \"*\";
    command = [ \"$T/slow.sh\", \"short\" ]; timeout = \"1s\"; },
  { on = [ \"refresh\" ]; server = \"*\";
    command = [ \"$T/slow.sh\", \"long\" ]; timeout = \"30s\"; }
);"
start_daemon

wait_for 10 get_token "$T/tok1" || fail "no token served"
expires=$(jq -r .expires_at "$T/tok.json")
rec_done() { ls "$T"/rec.refresh.*/done >/dev/null 2>&1; }
wait_for 10 rec_done || fail "the refresh hook did not run"
rec=$(dirname "$(ls "$T"/rec.refresh.*/done | head -n 1)")
printf '%s\n' "$(cat "$T/tok1")" | cmp -s - "$rec/stdin" ||
    fail "the hook's stdin is not the token served and a newline"
pass "the token reaches the hook on stdin"

printf '%s\n' "PATH=/usr/sbin:/usr/bin:/sbin:/bin" \
    "PLEX_TOKEND_EVENT=refresh" "PLEX_TOKEND_EXPIRES_AT=$expires" \
    "PLEX_TOKEND_SERVER=demo" > "$T/env.want"
sort "$rec/env" | diff -u "$T/env.want" - ||
    fail "the hook's environment is not exactly the documented one"
printf '%s\n' --flag "two words" | cmp -s - "$rec/argv" ||
    fail "argv: $(cat "$rec/argv")"
for f in "$rec/argv" "$rec/env"; do
	grep -qF "$(cat "$T/tok1")" "$f" && fail "the token is in $f"
	grep -qF "$ADMIN_TOKEN" "$f" && fail "the admin token is in $f"
done
pass "argv and environment: as configured, no secret"

wait_for 5 grep -qF "hook $T/record.sh for demo refresh: exit 0" \
    "$T/daemon.log" || fail "no exit status logged"
grep -qF "hook $T/record.sh for demo refresh: | recorded refresh for demo" \
    "$T/daemon.log" || fail "the hook's output is not logged"
pass "exit status and output logged"

wait_for 10 test -s "$T/slow.short.pid" || fail "the 1s hook did not start"
pg=$(cat "$T/slow.short.pid")
wait_for 4 bash -c "! ps -eo pgid= | tr -d ' ' | grep -qx $pg" ||
    fail "the hook past its 1s timeout is still running"
wait_for 2 grep -qF "hook $T/slow.sh for demo refresh: timed out after 1s;" \
    "$T/daemon.log" || fail "the kill is not logged"
pass "a hook past its timeout is killed, with its children"

wait_for 10 test -s "$T/slow.long.pid" || fail "the 30s hook did not start"
long=$(cat "$T/slow.long.pid")
group_alive "$long" || fail "the 30s hook is not running"
t=$(curl -s -o "$T/r.json" -w '%{time_total}' -X POST \
    "$API/v1/servers/demo/token/refresh")
jq -j .token "$T/r.json" > "$T/tok2"
cat "$T/tok2" >> "$T/secrets"
echo >> "$T/secrets"
cmp -s "$T/tok1" "$T/tok2" && fail "the forced refresh kept the old token"
awk -v t="$t" 'BEGIN { exit !(t < 0.5) }' ||
    fail "a forced refresh took $t s while a hook ran"
group_alive "$long" || fail "the 30s hook stopped early"
pass "a running hook does not delay a renewal ($t s)"

rec_two() { [ "$(ls "$T"/rec.refresh.*/done 2>/dev/null | wc -l)" -ge 2 ]; }
wait_for 10 rec_two || fail "the second refresh did not run the hook"
for d in "$T"/rec.refresh.*; do
	cmp -s "$T/tok2" <(tr -d '\n' < "$d/stdin") && found=1
done
[ "${found:-0}" = 1 ] || fail "the hook did not get the new token"
pass "the next refresh reaches the hook with the new token"

# SIGHUP swaps the hooks; the 30s hook of the old table runs on.
printf '#!/bin/sh\ncat > /dev/null\necho ran >> %s\n' "$T/after.ran" \
    > "$T/after.sh"
chmod 700 "$T/after.sh"
MIN_FORCED=1s write_config "hooks = (
  { on = [ \"refresh\" ]; server = \"demo\";
    command = [ \"$T/after.sh\" ]; }
);"
nrec=$(ls -d "$T"/rec.refresh.* | wc -l)
kill -HUP "$DAEMON_PID"
wait_for 5 grep -q 'configuration reloaded' "$T/daemon.log" ||
    fail "no reload"
refresh_ran() {
	api POST /v1/servers/demo/token/refresh "$T/r3.json" >/dev/null
	jq -j .token "$T/r3.json" >> "$T/secrets"
	echo >> "$T/secrets"
	test -s "$T/after.ran"
}
wait_for 10 refresh_ran || fail "the reloaded hook did not run"
[ "$(ls -d "$T"/rec.refresh.* | wc -l)" = "$nrec" ] ||
    fail "a hook removed by the reload still ran"
group_alive "$long" || fail "the old table's running hook was stopped"
pass "a reload replaces the hooks"

stop_daemon || fail "SIGTERM: exit status $?"
wait_for 3 bash -c "! ps -eo pgid= | tr -d ' ' | grep -qx $long" ||
    fail "a hook outlived the daemon"
pass "a running hook is killed at stop"
check_no_secrets
