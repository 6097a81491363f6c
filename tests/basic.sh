#!/bin/bash
# The foundation end to end: plex-sim over HTTP, the daemon on a real
# socket, a token fetched through the API and live in the simulator.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_sim
write_config
start_daemon

code=$(api GET /healthz "$T/h.json")
[ "$code" = 200 ] && jq -e '.status == "ok"' "$T/h.json" >/dev/null ||
    fail "/healthz answered $code"
pass "/healthz"

wait_for 10 get_token "$T/tok1" || fail "no token served"
sim_live "$T/tok1" || fail "the served token is not live in plex-sim"
jq -e '.server == "demo" and (.expires_in > 170000) and
    (.issued_at | test("Z$")) and (.expires_at | test("Z$"))' \
    "$T/tok.json" >/dev/null || fail "TOKEN fields: $(jq -c 'del(.token)' \
    "$T/tok.json")"
pass "a live token is served"

[ "$(sim_stat admin_in_url)" = 0 ] || fail "admin token sent in a URL"
[ "$(sim_stat last_product)" = plex-tokend ] || fail "X-Plex-Product"
pass "admin token only in a header"

curl -s -D "$T/hdr" -o /dev/null "$API/v1/servers/demo/token"
grep -qi '^cache-control: no-store' "$T/hdr" || fail "no Cache-Control"
grep -qi '^content-type: application/json; charset=utf-8' "$T/hdr" ||
    fail "wrong Content-Type"
pass "headers"

curl -s -H 'Accept: text/plain' -o "$T/plain" "$API/v1/servers/demo/token"
printf '%s\n' "$(cat "$T/tok1")" | cmp -s - "$T/plain" ||
    fail "text/plain answer is not the bare token and a newline"
pass "text/plain"

# The answer is kept per token and second: expires_in still counts down,
# and a new token is served at once, as JSON and as text/plain.
get_token "$T/tok1b"
in1=$(jq .expires_in "$T/tok.json")
sleep 1.1
get_token "$T/tok1c"
in2=$(jq .expires_in "$T/tok.json")
[ "$in2" -lt "$in1" ] || fail "expires_in stuck at $in1, then $in2"
code=$(api POST /v1/servers/demo/token/refresh "$T/r.json")
[ "$code" = 200 ] || fail "forced refresh: $code"
jq -j .token "$T/r.json" > "$T/tok2"
cat "$T/tok2" >> "$T/secrets"; echo >> "$T/secrets"
cmp -s "$T/tok1" "$T/tok2" && fail "forced refresh gave the same token"
get_token "$T/tok3"
cmp -s "$T/tok2" "$T/tok3" || fail "GET after a refresh: not the new token"
curl -s -H 'Accept: text/plain' -o "$T/plain" "$API/v1/servers/demo/token"
printf '%s\n' "$(cat "$T/tok2")" | cmp -s - "$T/plain" ||
    fail "text/plain after a refresh: not the new token"
code=$(curl -s -I -o "$T/head" -w '%{http_code}' \
    "$API/v1/servers/demo/token")
[ "$code" = 200 ] && grep -qi '^cache-control: no-store' "$T/head" ||
    fail "HEAD: $code"
sim_live "$T/tok3" || fail "the new token is not live in plex-sim"
pass "expires_in counts down; a new token is served at once"

sim_ctl /reset-stats
for i in $(seq 200); do
	echo "url = \"$API/v1/servers/demo/token\""
	echo "output = /dev/null"
done > "$T/many.curl"
curl -s -K "$T/many.curl" -w '%{http_code}\n' > "$T/codes"
[ "$(grep -c '^200$' "$T/codes")" = 200 ] || fail "not 200 x 200"
[ "$(sim_stat security_token)" = 0 ] ||
    fail "200 reads reached Plex $(sim_stat security_token) times"
pass "200 sequential reads: no upstream request after the first token"

code=$(api GET /v1/servers/nosuch/token "$T/e.json")
[ "$code" = 404 ] && jq -e '.error.code == "unknown_server"' "$T/e.json" \
    >/dev/null || fail "unknown server: $code"
code=$(api GET /v1/nothing "$T/e.json")
[ "$code" = 404 ] || fail "unknown route: $code"
code=$(api DELETE /v1/servers/demo/token "$T/e.json")
[ "$code" = 405 ] || fail "DELETE on token: $code"
curl -s -X PUT -D "$T/hdr" -o /dev/null "$API/v1/servers/demo/token"
grep -qi '^allow: GET, HEAD' "$T/hdr" || fail "405 without Allow"
code=$(api GET /v1/servers/demo/token/refresh "$T/e.json")
[ "$code" = 405 ] || fail "GET on refresh: $code"
code=$(api GET '/v1/servers/demo/token?min_valid=soon' "$T/e.json")
[ "$code" = 400 ] || fail "bad min_valid: $code"
pass "404, 405 with Allow, 400"

code=$(api GET /v1/servers/demo "$T/s.json")
[ "$code" = 200 ] || fail "status: $code"
jq -e '.name == "demo" and .state == "ready" and
    .restart_detection == "polling" and (.expires_at | test("Z$"))' \
    "$T/s.json" >/dev/null || fail "STATUS: $(cat "$T/s.json")"
grep -qF "$(cat "$T/tok1")" "$T/s.json" && fail "STATUS holds the token"
code=$(api GET /v1/servers "$T/l.json")
[ "$code" = 200 ] && jq -e '.servers | length == 1' "$T/l.json" \
    >/dev/null || fail "server list"
pass "status routes"

stop_daemon || fail "SIGTERM: exit status $?"
pass "SIGTERM exits 0"
check_no_secrets
