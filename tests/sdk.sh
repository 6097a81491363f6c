#!/bin/bash
# A real Plex SDK (@lukehagar/plexjs, pinned in tests/sdk/package.json)
# pointed at http://127.0.0.1:PORT/plex/demo with the client key as its
# Plex token: the transient token it gets is the one /v1 serves, and its
# source connection information is the daemon's.  Needs node and the
# SDK installed by `npm ci` in tests/sdk (.ci/run does it).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

SDK=$top_srcdir/tests/sdk
if ! command -v node >/dev/null; then
	echo "SKIP: node is not installed: the Plex SDK test cannot run" \
	    "(install nodejs and npm, then: cd tests/sdk && npm ci)" >&2
	exit 77
fi
if [ ! -d "$SDK/node_modules/@lukehagar/plexjs" ]; then
	# not installed (a fresh checkout, or distcheck's read-only
	# tree): install the locked SDK in a scratch copy
	mkdir "$T/sdkenv"
	cp "$SDK/package.json" "$SDK/package-lock.json" "$SDK/run.mjs" \
	    "$T/sdkenv/"
	if ! (cd "$T/sdkenv" && npm ci --no-audit --no-fund \
	    >"$T/npm.log" 2>&1); then
		tail -n 20 "$T/npm.log" >&2
		fail "cannot install the SDK (cd tests/sdk && npm ci)"
	fi
	SDK=$T/sdkenv
fi

KEY=canary-sdk-key-$RANDOM$RANDOM$RANDOM
printf '%s\n' "$KEY" > "$T/client.key"
chmod 600 "$T/client.key"
echo "$KEY" >> "$T/secrets"

start_sim
write_config "clients = ( { name = \"sdk\"; key_file = \"$T/client.key\";
    servers = [ \"demo\" ]; } );"
start_daemon

v1() {
	local code
	code=$(api GET "$1" "$2" -H "Authorization: Bearer $KEY") || return 1
	[ "$code" = 200 ]
}
wait_for 10 v1 /v1/servers/demo/token "$T/v1.json" || fail "no token"
jq -j '.token' "$T/v1.json" > "$T/v1.tok"
cat "$T/v1.tok" >> "$T/secrets"
echo >> "$T/secrets"

mkdir -m 700 "$T/sdk"
PLEX_URL=$API/plex/demo KEY_FILE=$T/client.key OUT=$T/sdk \
    node "$SDK/run.mjs" || fail "the SDK failed"
cat "$T/sdk/token" >> "$T/secrets"
echo >> "$T/secrets"
cmp -s "$T/sdk/token" "$T/v1.tok" ||
    fail "the SDK's token is not the one /v1/servers/demo/token serves"
pass "plexjs getTransientToken: the daemon's cached token"

v1 '/v1/servers/demo/resources?source=server://abc123' "$T/r.json" ||
    fail "/v1 resources"
jq -j '.access_token' "$T/r.json" >> "$T/secrets"
echo >> "$T/secrets"
jq -e --slurpfile v "$T/r.json" '.clientIdentifier == "abc123" and
    .name == $v[0].name and .accessToken == $v[0].access_token and
    .connections == $v[0].connections' "$T/sdk/resources.json" \
    >/dev/null || fail "the SDK's connection information differs"
pass "plexjs getSourceConnectionInformation: the daemon's answer"

[ "$(sim_stat resources)" = 1 ] ||
    fail "SDK and /v1 cost Plex $(sim_stat resources) resources requests"
pass "one upstream resources request for the SDK and /v1"

stop_daemon || fail "SIGTERM: exit status $?"
check_no_secrets
