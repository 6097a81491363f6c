#!/bin/bash
# The Plex-compatible front: /plex/demo/security/token in Plex's JSON and
# XML shapes with the client key in X-Plex-Token, Plex's 400 for a bad
# query, and /security/resources through /v1 and /plex/, cached per
# source (one upstream request for two calls, another after a renewal)
# and single-flight.  No token reaches the daemon's log.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

KEY=canary-client-key-$RANDOM$RANDOM$RANDOM
printf '%s\n' "$KEY" > "$T/client.key"
chmod 600 "$T/client.key"
echo "$KEY" >> "$T/secrets"
PK=(-H "X-Plex-Token: $KEY")
BK=(-H "Authorization: Bearer $KEY")
JSON=(-H 'Accept: application/json')
TOKQ='type=delegation&scope=all'

start_sim
write_config "clients = ( { name = \"sdk\"; key_file = \"$T/client.key\";
    servers = [ \"demo\" ]; } );"
start_daemon

# secret_of FILE: remember every secret a test saw.
secret_of() {
	cat "$1" >> "$T/secrets"
	echo >> "$T/secrets"
}

v1_token() {
	local code
	code=$(api GET /v1/servers/demo/token "$T/v1.json" "${BK[@]}") ||
	    return 1
	[ "$code" = 200 ] || return 1
	jq -j '.token' "$T/v1.json" > "$1"
	secret_of "$1"
}
wait_for 10 v1_token "$T/tok1" || fail "no token served"

# ------------------------------------------------- /security/token
code=$(api GET "/plex/demo/security/token?$TOKQ" "$T/p.json" "${PK[@]}" \
    "${JSON[@]}")
[ "$code" = 200 ] || fail "JSON token: $code"
jq -e '.MediaContainer.size == 0 and (.MediaContainer | keys ==
    ["size", "token"])' "$T/p.json" >/dev/null || fail "JSON shape"
jq -j '.MediaContainer.token' "$T/p.json" > "$T/p.tok"
cmp -s "$T/p.tok" "$T/tok1" || fail "JSON answer is not the cached token"
pass "/plex/ token, JSON"

curl -s -X POST -D "$T/hdr" -o "$T/p.xml" "${PK[@]}" \
    "$API/plex/demo/security/token?$TOKQ"
grep -qi '^content-type: text/xml' "$T/hdr" || fail "XML Content-Type"
grep -qi '^cache-control: no-store' "$T/hdr" || fail "no Cache-Control"
printf '<?xml version="1.0" encoding="UTF-8"?>\n<MediaContainer size="0" token="%s"/>\n' \
    "$(cat "$T/tok1")" | cmp -s - "$T/p.xml" || fail "XML answer shape"
pass "/plex/ token, XML (POST, no Accept)"

code=$(api PUT "/plex/demo/security/token?$TOKQ&X-Plex-Token=$KEY" \
    "$T/q.xml")
[ "$code" = 200 ] && cmp -s "$T/q.xml" "$T/p.xml" ||
    fail "key in the query, PUT: $code"
pass "any method; the key in the query"

for q in 'scope=all' 'type=delegation' 'type=other&scope=all' \
    'type=delegation&scope=some'; do
	code=$(api GET "/plex/demo/security/token?$q" "$T/e.html" "${PK[@]}")
	[ "$code" = 400 ] || fail "bad query $q: $code"
	grep -q '<h1>400 Bad Request</h1>' "$T/e.html" || fail "400 page"
done
code=$(api GET "/plex/demo/security/token?$TOKQ" "$T/e.html")
[ "$code" = 401 ] || fail "no key: $code"
code=$(api GET "/plex/demo/security/token?$TOKQ" "$T/e.html" \
    -H 'X-Plex-Token: not-a-key')
[ "$code" = 401 ] || fail "bad key: $code"
code=$(api GET "/plex/nosuch/security/token?$TOKQ" "$T/e.html" "${PK[@]}")
[ "$code" = 404 ] || [ "$code" = 403 ] || fail "unknown server: $code"
pass "400 for a bad type or scope, 401 without a key, unknown server"

# ------------------------------------------------ /security/resources
sim_ctl /reset-stats
RES=/v1/servers/demo/resources?source=server://abc123
code=$(api GET "$RES" "$T/r1.json" "${BK[@]}")
[ "$code" = 200 ] || fail "resources: $code $(cat "$T/r1.json")"
jq -j '.access_token' "$T/r1.json" > "$T/src.tok"
secret_of "$T/src.tok"
jq -e '.source == "server://abc123" and .name == "Friend'"'"'s Server" and
    .client_identifier == "abc123" and (.access_token | test("^src-")) and
    (.connections | length == 3) and
    (.connections[0] | keys == ["address", "local", "port", "protocol",
    "relay", "uri"]) and .connections[0].local == true and
    .connections[2].relay == true and .connections[1].address ==
    "2001:db8::20" and .connections[2].port == 8443' "$T/r1.json" \
    >/dev/null || fail "/v1 resources shape: $(jq -c 'del(.access_token)' \
    "$T/r1.json")"
code=$(api GET "$RES" "$T/r2.json" "${BK[@]}")
[ "$code" = 200 ] && cmp -s "$T/r1.json" "$T/r2.json" || fail "second call"
[ "$(sim_stat resources)" = 1 ] ||
    fail "two calls cost Plex $(sim_stat resources) requests"
pass "/v1 resources: the shape, and two calls cost Plex one request"

PRES=/plex/demo/security/resources?source=server://abc123
code=$(api GET "$PRES" "$T/pr.json" "${PK[@]}" "${JSON[@]}")
[ "$code" = 200 ] || fail "/plex/ resources JSON: $code"
jq -e '.MediaContainer.size == 1 and
    .MediaContainer.Device.clientIdentifier == "abc123" and
    (.MediaContainer.Device.Connection | length == 3) and
    .MediaContainer.Device.Connection[1].IPv6 == true' "$T/pr.json" \
    >/dev/null || fail "/plex/ resources JSON shape"
jq -j '.MediaContainer.Device.accessToken' "$T/pr.json" |
    cmp -s - "$T/src.tok" || fail "/plex/ JSON source token"
code=$(api GET "$PRES" "$T/pr.xml" "${PK[@]}")
[ "$code" = 200 ] || fail "/plex/ resources XML: $code"
head -n 1 "$T/pr.xml" | grep -qx '<?xml version="1.0" encoding="UTF-8"?>' ||
    fail "XML declaration"
grep -q "name=\"Friend&apos;s Server\"" "$T/pr.xml" || fail "XML escaping"
[ "$(grep -c '<Connection ' "$T/pr.xml")" = 3 ] || fail "XML connections"
if command -v python3 >/dev/null; then
	python3 -c 'import sys, xml.dom.minidom as m
d = m.parse(sys.argv[1]).getElementsByTagName("Device")[0]
assert d.getAttribute("name") == "Friend'"'"'s Server"
assert len(d.getElementsByTagName("Connection")) == 3' "$T/pr.xml" ||
	    fail "the XML answer is not well-formed"
fi
[ "$(sim_stat resources)" = 1 ] || fail "/plex/ resources reached Plex"
pass "/plex/ resources, JSON and well-formed XML, from the cache"

code=$(api GET '/v1/servers/demo/resources?source=server://zzz999' \
    "$T/e.json" "${BK[@]}")
[ "$code" = 404 ] && jq -e '.error.code == "unknown_source"' "$T/e.json" \
    >/dev/null || fail "unknown source: $code"
code=$(api GET '/v1/servers/demo/resources?source=abc123' "$T/e.json" \
    "${BK[@]}")
[ "$code" = 400 ] || fail "bad source: $code"
code=$(api GET '/v1/servers/demo/resources' "$T/e.json" "${BK[@]}")
[ "$code" = 400 ] || fail "no source: $code"
code=$(api GET '/plex/demo/security/resources' "$T/e.html" "${PK[@]}")
[ "$code" = 400 ] || fail "/plex/ no source: $code"
code=$(api POST "$RES" "$T/e.json" "${BK[@]}")
[ "$code" = 405 ] || fail "POST resources: $code"
code=$(api GET "$RES" "$T/e.json")
[ "$code" = 401 ] || fail "resources without a key: $code"
pass "404 unknown source, 400 bad query, 405, 401"

# A renewal empties the cache.
sim_ctl /reset-stats
code=$(api POST /v1/servers/demo/token/refresh "$T/n.json" "${BK[@]}")
[ "$code" = 200 ] || fail "forced renewal: $code"
jq -j '.token' "$T/n.json" > "$T/tok2"
secret_of "$T/tok2"
cmp -s "$T/tok1" "$T/tok2" && fail "the renewal kept the token"
api GET "$RES" "$T/r3.json" "${BK[@]}" >/dev/null
api GET "$RES" "$T/r4.json" "${BK[@]}" >/dev/null
[ "$(sim_stat resources)" = 1 ] ||
    fail "after a renewal: $(sim_stat resources) requests, not 1"
pass "a renewal empties the cache: two calls, one more request"

# refresh=1 bypasses the cache, at most once per min_forced_interval.
sim_ctl /reset-stats
api GET "$RES&refresh=1" "$T/r5.json" "${BK[@]}" >/dev/null
api GET "$RES&refresh=1" "$T/r6.json" "${BK[@]}" >/dev/null
[ "$(sim_stat resources)" = 1 ] ||
    fail "refresh=1 twice: $(sim_stat resources) requests, not 1"
pass "refresh=1 bypasses the cache, bounded"

# A crowd asking for a source not yet cached: one request.
sim_ctl /reset-stats
sim_ctl '/delay?ms=300'
for i in $(seq 20); do
	echo "url = \"$API/v1/servers/demo/resources?source=server://def456\""
	echo "header = \"Authorization: Bearer $KEY\""
	echo "output = /dev/null"
done > "$T/crowd.curl"
chmod 600 "$T/crowd.curl"
curl -s --no-progress-meter --parallel --parallel-max 20 -K "$T/crowd.curl" \
    -w '%{http_code}\n' > "$T/codes"
sim_ctl '/delay?ms=0'
[ "$(grep -c '^200$' "$T/codes")" = 20 ] || fail "crowd: $(sort "$T/codes" |
    uniq -c | tr '\n' ' ')"
[ "$(sim_stat resources)" = 1 ] ||
    fail "a crowd of 20 cost Plex $(sim_stat resources) requests"
pass "20 concurrent callers, one upstream request"

# Plex refuses the transient token (a restart): the admin token asks.
sim_ctl /restart
code=$(api GET '/v1/servers/demo/resources?source=server://abc123&refresh=1' \
    "$T/r7.json" "${BK[@]}")
[ "$code" = 200 ] || fail "after a restart: $code"
jq -j '.access_token' "$T/r7.json" > "$T/src2.tok"
secret_of "$T/src2.tok"
pass "resources still answer right after a server restart"

stop_daemon || fail "SIGTERM: exit status $?"
grep -q "src-" "$T/daemon.log" && fail "a source token in the log"
check_no_secrets
