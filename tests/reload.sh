#!/bin/bash
# SIGHUP: add a server, change one, drop one, and survive a broken file;
# unchanged servers keep their tokens.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_sim --no-eventsource
write_config
start_daemon
wait_for 10 get_token "$T/demo1" || fail "no token"

server() {
	echo "  { name = \"$1\"; url = \"$2\"; token_file = \"$T/admin.token\"; }"
}
reconfigure() {
	sed -i '/^servers = (/,$d' "$T/tokend.conf"
	{
		echo "servers = ("
		local first=1 s
		for s in "$@"; do
			[ $first = 1 ] || echo ","
			first=0
			echo "$s"
		done
		echo ");"
	} >> "$T/tokend.conf"
}
reloaded() {
	local n
	n=$(grep -c 'configuration reloaded\|reload failed' "$T/daemon.log")
	[ "$n" -ge "$1" ]
}

sim_ctl /reset-stats
reconfigure "$(server demo "$SIM_URL")" "$(server second "$SIM_URL")"
kill -HUP "$DAEMON_PID"
wait_for 5 reloaded 1 || fail "no reload"
second_ok() { api GET /v1/servers/second/token "$T/s.json" | grep -q 200; }
wait_for 5 second_ok || fail "added server has no token"
jq -j .token "$T/s.json" >> "$T/secrets"; echo >> "$T/secrets"
get_token "$T/demo2"
cmp -s "$T/demo1" "$T/demo2" || fail "unchanged server lost its token"
[ "$(sim_stat security_token)" = 1 ] || fail "reload renewed too much"
pass "SIGHUP added a server; the unchanged one kept its token"

# Change second's url (same server, another spelling): new token.
reconfigure "$(server demo "$SIM_URL")" \
    "$(server second "http://localhost:$SIM_PORT")"
kill -HUP "$DAEMON_PID"
wait_for 5 reloaded 2 || fail "no reload"
two_fetches() { [ "$(sim_stat security_token)" = 2 ]; }
wait_for 5 two_fetches ||
    fail "changed server not renewed"
jq -e '.url | test("localhost")' <(curl -s "$API/v1/servers/second") \
    >/dev/null || fail "url not changed"
get_token "$T/demo3"
cmp -s "$T/demo1" "$T/demo3" || fail "demo lost its token"
pass "a changed server gets a new token; the others keep theirs"

# A broken file: reported, the old configuration keeps running.
echo 'servers = ( { name = "BAD NAME"; } );' >> "$T/tokend.conf"
kill -HUP "$DAEMON_PID"
wait_for 5 grep -q 'reload failed' "$T/daemon.log" || fail "not reported"
grep 'reload failed' "$T/daemon.log" | grep -q "$T/tokend.conf:" ||
    fail "reload error does not name FILE:LINE"
get_token "$T/demo4" || fail "stopped serving after a broken reload"
code=$(api GET /v1/servers/second/token /dev/null)
[ "$code" = 200 ] || fail "second lost after a broken reload"
pass "a broken file is reported and the old configuration keeps running"

# Drop a server.
reconfigure "$(server demo "$SIM_URL")"
kill -HUP "$DAEMON_PID"
wait_for 5 reloaded 4 || fail "no reload"
code=$(api GET /v1/servers/second/token /dev/null)
[ "$code" = 404 ] || fail "dropped server still answers $code"
pass "a dropped server answers 404"
kill -0 "$DAEMON_PID" || fail "daemon died"
stop_daemon || fail "exit status"
check_no_secrets
