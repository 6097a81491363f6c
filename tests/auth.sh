#!/bin/bash
# Who may ask: client keys (401 missing or bad, 403 not allowed for the
# server), a client sees only its servers, /healthz needs no key, and a
# SIGHUP that changes the keys takes effect at once.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

# new_key NAME: a fresh key in $T/NAME.key (mode 0600), remembered.
new_key() {
	printf 'key-%s-%s%s%s\n' "$1" "$RANDOM" "$RANDOM" "$RANDOM" \
	    > "$T/$1.key"
	chmod 600 "$T/$1.key"
	cat "$T/$1.key" >> "$T/secrets"
}

# config_with_clients: servers demo and other on the same plex-sim;
# alpha may ask about demo only, beta about other only.
config_with_clients() {
	write_config "clients = (
  { name = \"alpha\"; key_file = \"$T/alpha.key\"; servers = [ \"demo\" ]; },
  { name = \"beta\"; key_file = \"$T/beta.key\"; servers = [ \"other\" ]; }
);"
	sed -i "s|^  { name = \"demo\".*|&,\n  { name = \"other\"; \
url = \"$SIM_URL\"; token_file = \"$T/admin.token\"; }|" "$T/tokend.conf"
}

# code PATH [KEYNAME|-]: the status of GET PATH with that client's key.
code() {
	local path=$1 who=${2:--}
	if [ "$who" = - ]; then
		api GET "$path" "$T/out.json"
	else
		api GET "$path" "$T/out.json" -H @"$T/$who.hdr"
	fi
}

# hdr NAME: the Authorization header for NAME's key, in a file (never
# on a command line).
hdr() {
	printf 'Authorization: Bearer %s\n' "$(cat "$T/$1.key")" > "$T/$1.hdr"
	chmod 600 "$T/$1.hdr"
}

start_sim
new_key alpha
new_key beta
new_key wrong
config_with_clients
start_daemon
hdr alpha
hdr beta
hdr wrong

[ "$(code /healthz)" = 200 ] || fail "/healthz without a key"
pass "/healthz needs no key"

c=$(code /v1/servers/demo/token)
[ "$c" = 401 ] && jq -e '.error.code == "missing_key"' "$T/out.json" \
    >/dev/null || fail "no key: $c"
curl -s -D "$T/h401" -o /dev/null "$API/v1/servers/demo/token"
grep -qi '^www-authenticate: Bearer' "$T/h401" || fail "401 without \
WWW-Authenticate"
c=$(code /v1/servers/demo/token wrong)
[ "$c" = 401 ] && jq -e '.error.code == "bad_key"' "$T/out.json" \
    >/dev/null || fail "wrong key: $c"
printf 'Authorization: Basic %s\n' "$(base64 < "$T/alpha.key")" \
    > "$T/basic.hdr"
c=$(code /v1/servers/demo/token basic)
[ "$c" = 401 ] || fail "Basic scheme: $c"
[ "$(code /v1/servers wrong)" = 401 ] || fail "wrong key on the list"
[ "$(code /readyz)" = 401 ] || fail "/readyz without a key"
pass "401: missing, wrong, or not a Bearer key"

c=$(code /v1/servers/demo/token beta)
[ "$c" = 403 ] && jq -e '.error.code == "forbidden"' "$T/out.json" \
    >/dev/null || fail "beta's key for demo: $c"
[ "$(code /v1/servers/other alpha)" = 403 ] || fail "alpha on other"
[ "$(code /v1/servers/nosuch alpha)" = 403 ] ||
    fail "an unknown server must look like a forbidden one"
pass "403: a key not allowed for the server"

wait_for 10 test "$(code /v1/servers/demo/token alpha)" = 200 ||
    fail "alpha's key for demo"
jq -j .token "$T/out.json" > "$T/tok1"
cat "$T/tok1" >> "$T/secrets"; echo >> "$T/secrets"
sim_live "$T/tok1" || fail "alpha's token is not live"
[ "$(code /v1/servers/other/token beta)" = 200 ] ||
    wait_for 10 test "$(code /v1/servers/other/token beta)" = 200 ||
    fail "beta's key for other"
jq -j .token "$T/out.json" >> "$T/secrets"; echo >> "$T/secrets"
pass "200: the right key"

[ "$(code /v1/servers alpha)" = 200 ] &&
    jq -e '[.servers[].name] == ["demo"]' "$T/out.json" >/dev/null ||
    fail "alpha's list: $(jq -c '[.servers[].name]' "$T/out.json")"
[ "$(code /v1/servers beta)" = 200 ] &&
    jq -e '[.servers[].name] == ["other"]' "$T/out.json" >/dev/null ||
    fail "beta's list: $(jq -c '[.servers[].name]' "$T/out.json")"
pass "GET /v1/servers lists only the client's servers"

# POST refresh goes through the same gate.
c=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
    "$API/v1/servers/demo/token/refresh")
[ "$c" = 401 ] || fail "refresh without a key: $c"
pass "refresh needs a key too"

# A reload swaps the keys: the old one stops working at once.
cp "$T/alpha.key" "$T/alpha.old"
new_key alpha
kill -HUP "$DAEMON_PID"
wait_for 5 grep -q 'configuration reloaded' "$T/daemon.log" ||
    fail "no reload"
c=$(code /v1/servers/demo alpha)
[ "$c" = 401 ] || fail "reload ignored: $c"
hdr alpha
[ "$(code /v1/servers/demo alpha)" = 200 ] || fail "the new key"
pass "SIGHUP swaps the keys"

# Many requests with keys while reloads go on: nothing breaks.
{
	echo "header = @$T/alpha.hdr"
	for i in $(seq 100); do
		echo "url = \"$API/v1/servers/demo\""
		echo "output = /dev/null"
	done
} > "$T/many.curl"
curl -s --no-progress-meter --parallel --parallel-max 10 -K "$T/many.curl" -w '%{http_code}\n' \
    > "$T/codes" &
for i in 1 2 3 4 5; do
	kill -HUP "$DAEMON_PID"
	sleep 0.05
done
wait $!
[ "$(grep -c '^200$' "$T/codes")" = 100 ] ||
    fail "keyed requests during reloads: $(sort "$T/codes" | uniq -c)"
kill -0 "$DAEMON_PID" || fail "the daemon died"
pass "keyed requests during reloads"

grep -qF "$(cat "$T/alpha.old")" "$T/daemon.log" && fail "key in the log"
stop_daemon || fail "SIGTERM: exit status $?"

# /readyz speaks of the servers the client may see: demo is up, "dead"
# (nothing listens there) never gets a token.
write_config "clients = (
  { name = \"alpha\"; key_file = \"$T/alpha.key\"; servers = [ \"demo\" ]; },
  { name = \"beta\"; key_file = \"$T/beta.key\"; servers = [ \"dead\" ]; }
);"
sed -i "s|^  { name = \"demo\".*|&,\n  { name = \"dead\"; \
url = \"http://127.0.0.1:1\"; token_file = \"$T/admin.token\"; }|" \
    "$T/tokend.conf"
start_daemon
hdr alpha
hdr beta
alpha_ready() { [ "$(code /readyz alpha)" = 200 ]; }
wait_for 10 alpha_ready || fail "/readyz for alpha (demo only)"
[ "$(code /readyz beta)" = 503 ] &&
    jq -e '.servers == ["dead"]' "$T/out.json" >/dev/null ||
    fail "/readyz for beta: $(cat "$T/out.json")"
[ "$(code /readyz)" = 401 ] || fail "/readyz without a key"
pass "/readyz: ready for alpha, 503 naming only dead for beta"
stop_daemon || fail "SIGTERM: exit status $?"
check_no_secrets
