#!/bin/bash
# GET /metrics: strict Prometheus text, the expiry gauge, counters that
# move by one per renewal, route templates (never a raw URL), no key.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

KEY=canary-key-$RANDOM$RANDOM$RANDOM
printf '%s\n' "$KEY" > "$T/client.key"
chmod 600 "$T/client.key"
echo "$KEY" >> "$T/secrets"

start_sim
MIN_FORCED=1s write_config "clients = (
  { name = \"scraper-test\"; key_file = \"$T/client.key\";
    servers = [ \"demo\" ]; }
);"
start_daemon
AUTH="Authorization: Bearer $KEY"

gettok() {
	local code
	code=$(api GET /v1/servers/demo/token "$T/tok.json" -H "$AUTH")
	[ "$code" = 200 ] || return 1
	jq -j .token "$T/tok.json" > "$1"
	cat "$1" >> "$T/secrets"
	echo >> "$T/secrets"
}
wait_for 10 gettok "$T/tok1" || fail "no token served"

code=$(curl -s -D "$T/m.hdr" -o "$T/m1" -w '%{http_code}' "$API/metrics")
[ "$code" = 200 ] || fail "/metrics without a key: $code"
grep -qi '^content-type: text/plain; version=0.0.4' "$T/m.hdr" ||
    fail "Content-Type: $(grep -i '^content-type' "$T/m.hdr")"
code=$(api GET /v1/servers "$T/e.json")
[ "$code" = 401 ] || fail "/v1/servers without a key: $code (want 401)"
code=$(api GET /v1/events "$T/ev" -m 2)
[ "$code" = 401 ] || fail "/v1/events without a key: $code (want 401)"
curl -sN -m 2 -o "$T/ev" -H "$AUTH" "$API/v1/events"
grep -q '^retry: 2000$' "$T/ev" || fail "/v1/events with a key"
pass "/metrics needs no key; /v1/events does"

# Every line: a HELP or TYPE comment, or NAME{LABELS} VALUE.
check_text() {
	local bad
	bad=$(grep -Ev '^# (HELP|TYPE) plex_tokend_[a-z_]+ .+$' "$1" |
	    grep -Ev '^plex_tokend_[a-z_]+(\{[a-z_]+="([^"\\]|\\.)*"(,[a-z_]+="([^"\\]|\\.)*")*\})? (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|\+Inf|-Inf|NaN)$')
	[ -z "$bad" ] || fail "not Prometheus text: $(echo "$bad" | head -3)"
	grep -E '^# TYPE ' "$1" | awk '{ print $3 }' | sort | uniq -d |
	    grep -q . && fail "a metric family declared twice"
	[ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ] ||
	    fail "no newline at the end"
	return 0
}
check_text "$T/m1"
for m in token_expiry_timestamp_seconds server_up refresh_total \
    upstream_requests_total upstream_request_duration_seconds \
    http_requests_total build_info; do
	grep -q "^# TYPE plex_tokend_$m " "$T/m1" || fail "no $m"
done
pass "strict line-by-line Prometheus text with every family"

val() { sed -n "s/^$2 //p" "$1"; }
want=$(date -d "$(jq -r .expires_at "$T/tok.json")" +%s)
got=$(val "$T/m1" 'plex_tokend_token_expiry_timestamp_seconds{server="demo"}')
[ "$got" = "$want" ] || fail "expiry gauge $got, token expires at $want"
[ "$(val "$T/m1" 'plex_tokend_server_up{server="demo"}')" = 1 ] ||
    fail "server_up is not 1"
grep -q '^plex_tokend_build_info{version="[^"]*"} 1$' "$T/m1" ||
    fail "build_info"
pass "expiry gauge equals expires_at ($want), server up"

ok1=$(val "$T/m1" 'plex_tokend_refresh_total{server="demo",result="ok"}')
up1=$(val "$T/m1" 'plex_tokend_upstream_requests_total{server="demo",endpoint="token",code="200"}')
n1=$(val "$T/m1" 'plex_tokend_upstream_request_duration_seconds_count{server="demo"}')
code=$(api POST /v1/servers/demo/token/refresh "$T/r.json" -H "$AUTH")
[ "$code" = 200 ] || fail "forced refresh: $code"
jq -j .token "$T/r.json" >> "$T/secrets"
echo >> "$T/secrets"
curl -s -o "$T/m2" "$API/metrics"
check_text "$T/m2"
ok2=$(val "$T/m2" 'plex_tokend_refresh_total{server="demo",result="ok"}')
up2=$(val "$T/m2" 'plex_tokend_upstream_requests_total{server="demo",endpoint="token",code="200"}')
n2=$(val "$T/m2" 'plex_tokend_upstream_request_duration_seconds_count{server="demo"}')
[ "$ok2" = $((ok1 + 1)) ] || fail "refresh_total ok: $ok1 -> $ok2"
[ "$(val "$T/m2" 'plex_tokend_refresh_total{server="demo",result="error"}')" \
    = 0 ] || fail "refresh_total error is not 0"
[ "$up2" = $((up1 + 1)) ] || fail "upstream token 200: $up1 -> $up2"
[ "$n2" -gt "$n1" ] || fail "duration count: $n1 -> $n2"
want=$(date -d "$(jq -r .expires_at "$T/r.json")" +%s)
got=$(val "$T/m2" 'plex_tokend_token_expiry_timestamp_seconds{server="demo"}')
[ "$got" = "$want" ] || fail "expiry gauge after renewal $got != $want"
pass "one renewal: refresh_total and upstream counters +1"

inf=$(val "$T/m2" 'plex_tokend_upstream_request_duration_seconds_bucket{server="demo",le="+Inf"}')
[ "$inf" = "$n2" ] || fail "+Inf bucket $inf != count $n2"
grep 'duration_seconds_bucket{server="demo"' "$T/m2" |
    awk '{ if ($2 < prev) exit 1; prev = $2 }' || fail "buckets not cumulative"
pass "histogram buckets cumulative up to _count"

grep -q '^plex_tokend_http_requests_total{route="/v1/servers/{name}/token",code="200"} [1-9]' \
    "$T/m2" || fail "no count for the token route template"
grep -q '^plex_tokend_http_requests_total{route="/v1/servers",code="401"} 1$' \
    "$T/m2" || fail "no 401 count for /v1/servers"
grep 'http_requests_total{' "$T/m2" | grep -q 'servers/demo' &&
    fail "a raw URL as a route label"
pass "http_requests_total by route template and status"

for f in "$T/m1" "$T/m2"; do
	while read -r s; do
		[ -n "$s" ] && grep -qF -- "$s" "$f" && fail "a secret in /metrics"
	done < "$T/secrets"
done
if command -v promtool >/dev/null; then
	promtool check metrics < "$T/m2" || fail "promtool check metrics"
	pass "promtool check metrics"
else
	echo "skip: promtool not installed"
fi
stop_daemon || fail "SIGTERM: exit status $?"
check_no_secrets
