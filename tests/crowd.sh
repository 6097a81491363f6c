#!/bin/bash
# Single flight: a crowd of callers costs Plex one request.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_sim --delay-ms 700
MIN_FORCED=1s write_config
start_daemon

# 100 concurrent cold requests while plex-sim answers slowly.
for i in $(seq 100); do
	echo "url = \"$API/v1/servers/demo/token\""
	echo "output = \"$T/out-cold-$i\""
done > "$T/cold.curl"
curl -s --no-progress-meter --parallel --parallel-max 100 -K "$T/cold.curl" \
    -w '%{http_code}\n' > "$T/codes"
[ "$(grep -c '^200$' "$T/codes")" = 100 ] ||
    fail "cold crowd: $(sort "$T/codes" | uniq -c | tr '\n' ' ')"
[ "$(cat "$T"/out-cold-* | jq -r .token | sort -u | wc -l)" = 1 ] ||
    fail "the crowd got different tokens"
[ "$(sim_stat security_token)" = 1 ] ||
    fail "100 cold callers cost $(sim_stat security_token) requests"
jq -j .token "$T/out-cold-1" > "$T/tok1"
cat "$T/tok1" >> "$T/secrets"; echo >> "$T/secrets"
pass "100 concurrent cold requests: one upstream request, one token"

# 20 concurrent forced refreshes: at most one more request.
sleep 1.1	# let min_forced_interval (1 s) pass since the cold fetch
sim_ctl /reset-stats
for i in $(seq 20); do
	echo "url = \"$API/v1/servers/demo/token/refresh\""
	echo "request = POST"
	echo "output = \"$T/out-force-$i\""
done > "$T/force.curl"
curl -s --no-progress-meter --parallel --parallel-max 20 -K "$T/force.curl" \
    -w '%{http_code}\n' > "$T/codes"
[ "$(grep -c '^200$' "$T/codes")" = 20 ] ||
    fail "forced crowd: $(sort "$T/codes" | uniq -c | tr '\n' ' ')"
n=$(sim_stat security_token)
[ "$n" -le 1 ] || fail "20 forced refreshes cost $n requests"
jq -j .token "$T/out-force-1" > "$T/tok2"
cat "$T/tok2" >> "$T/secrets"; echo >> "$T/secrets"
pass "20 concurrent forced refreshes: $n upstream request"

# 20 forced refreshes naming the token already replaced: none.
cmp -s "$T/tok1" "$T/tok2" && fail "forced refresh gave the same token"
sleep 1.1
sim_ctl /reset-stats
jq -n --rawfile t "$T/tok1" '{rejected: $t}' > "$T/old.json"
for i in $(seq 20); do
	[ "$i" = 1 ] || echo next
	echo "url = \"$API/v1/servers/demo/token/refresh\""
	echo "data-binary = \"@$T/old.json\""
	echo "output = \"$T/out-cas-$i\""
	echo 'write-out = "%{http_code}\n"'
done > "$T/cas.curl"
curl -s --no-progress-meter --parallel --parallel-max 20 -K "$T/cas.curl" \
    > "$T/codes"
[ "$(grep -c '^200$' "$T/codes")" = 20 ] ||
    fail "CAS crowd: $(sort "$T/codes" | uniq -c | tr '\n' ' ')" \
    "$(jq -c .error "$T/out-cas-1")"
[ "$(sim_stat security_token)" = 0 ] ||
    fail "refreshes naming an old token reached Plex"
[ "$(cat "$T"/out-cas-* | jq -r .token | sort -u)" = "$(cat "$T/tok2")" ] ||
    fail "CAS callers did not get the current token"
pass "20 refreshes naming a replaced token: no upstream request"

# Naming the current token renews it, once.
jq -n --rawfile t "$T/tok2" '{rejected: $t}' > "$T/cur.json"
sed "s|@$T/old.json|@$T/cur.json|" "$T/cas.curl" > "$T/cur.curl"
curl -s --no-progress-meter --parallel --parallel-max 20 -K "$T/cur.curl" \
    > "$T/codes"
[ "$(sim_stat security_token)" = 1 ] ||
    fail "20 callers naming the current token: $(sim_stat \
    security_token) requests"
pass "20 refreshes naming the current token: one upstream request"

# Bounded: another forced refresh at once does not reach Plex.
code=$(api POST /v1/servers/demo/token/refresh "$T/f.json")
[ "$code" = 200 ] || fail "bounded refresh: $code"
[ "$(sim_stat security_token)" = 1 ] ||
    fail "min_forced_interval did not bound forced renewals"
pass "min_forced_interval bounds forced renewals"

code=$(api POST /v1/servers/demo/token/refresh "$T/f.json" -d 'nonsense')
[ "$code" = 400 ] || fail "bad refresh body: $code"
head -c 5000 /dev/zero | tr '\0' x > "$T/big"
code=$(api POST /v1/servers/demo/token/refresh "$T/f.json" \
    --data-binary @"$T/big")
[ "$code" = 413 ] || fail "5000-byte body: $code"
pass "refresh body: 400 when malformed, 413 past 4 KiB"
check_no_secrets
