#!/bin/bash
# Hostile callers: a foreign Host (DNS rebinding), Origin and CORS
# preflights, the X-Plex-Tokend header, and raw malformed requests on a
# real socket: garbage, huge headers, huge bodies, a request left
# half-sent, a pile of idle connections.  After each the daemon still
# answers.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

# status ARGS...: the HTTP status of GET $API/healthz-or-other with ARGS.
status() {
	curl -s -o "$T/out" -w '%{http_code}' --max-time 10 "$@"
}

# raw FILE: send FILE on a new connection; print the status code of
# the answer, or "close" when the daemon closes without one.
raw() {
	local line
	exec 3<>"/dev/tcp/127.0.0.1/$API_PORT" || fail "cannot connect"
	cat "$1" >&3 2>/dev/null
	line=$(timeout 10 head -n 1 <&3 | tr -d '\r')
	exec 3>&-
	case $line in
	HTTP/1.[01]\ [0-9][0-9][0-9]*) echo "$line" | cut -d' ' -f2 ;;
	*) echo close ;;
	esac
}

# alive: a normal request still works.
alive() {
	[ "$(status "$API/v1/servers/demo")" = 200 ] ||
	    fail "a normal request fails after: $*"
	kill -0 "$DAEMON_PID" || fail "the daemon died after: $*"
}

start_sim
write_config
start_daemon
wait_for 10 get_token "$T/tok1" || fail "no token served"

# ------------------------------------------------------------ Host
c=$(status -H 'Host: evil.example.com' "$API/v1/servers/demo/token")
[ "$c" = 403 ] && jq -e '.error.code == "bad_host"' "$T/out" >/dev/null ||
    fail "Host: evil.example.com: $c"
grep -q token "$T/out" && jq -e 'has("token")' "$T/out" >/dev/null &&
    fail "a token went to a foreign Host"
for h in evil.example.com:$API_PORT 127.0.0.1.evil.example.com \
    localhost.evil.example.com evil.example.com:127.0.0.1 \
    '[::2]' '[::1' 10.0.0.1 "127.0.0.1:$API_PORT:1" "127.0.0.1:99999" \
    '127.1'; do
	c=$(status -H "Host: $h" "$API/v1/servers")
	[ "$c" = 403 ] || fail "Host: $h answered $c"
done
c=$(status --http1.0 -H 'Host:' "$API/v1/servers")
[ "$c" = 403 ] || fail "no Host on TCP answered $c"
for h in "127.0.0.1:$API_PORT" 127.0.0.1 localhost "localhost:$API_PORT" \
    LocalHost 127.9.8.7 "[::1]:$API_PORT" '[::1]'; do
	c=$(status -H "Host: $h" "$API/v1/servers/demo")
	[ "$c" = 200 ] || fail "Host: $h answered $c"
done
pass "Host: only loopback and localhost (DNS-rebinding defence)"

# ------------------------------------------------------------ CORS
curl -s -D "$T/h1" -o /dev/null -H 'Origin: http://evil.example.com' \
    "$API/v1/servers/demo/token"
grep -qi '^HTTP/1.1 200' "$T/h1" || fail "GET with Origin: $(head -1 "$T/h1")"
grep -qi '^access-control-' "$T/h1" && fail "a CORS header was sent"
curl -s -X OPTIONS -D "$T/h2" -o /dev/null \
    -H 'Origin: http://evil.example.com' \
    -H 'Access-Control-Request-Method: GET' \
    -H 'Access-Control-Request-Headers: authorization' \
    "$API/v1/servers/demo/token"
grep -qi '^HTTP/1.1 405' "$T/h2" || fail "OPTIONS: $(head -1 "$T/h2")"
grep -qi '^access-control-' "$T/h2" && fail "CORS header on a preflight"
for p in /healthz /readyz /v1/servers /v1/servers/demo/token/refresh \
    /nowhere; do
	curl -s -X OPTIONS -D - -o /dev/null -H 'Origin: http://a.example' \
	    "$API$p"
done > "$T/h3"
grep -qi '^access-control-' "$T/h3" && fail "CORS header on OPTIONS"
pass "no CORS header, ever; OPTIONS is 405"

# --------------------------------------------------- malformed, raw
printf 'GARBAGE\r\n\r\n' > "$T/r1"
printf '\001\002\003\377 / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' > "$T/r2"
printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nBroken header\r\n\r\n' \
    > "$T/r3"
for f in r1 r3; do
	c=$(raw "$T/$f")
	case $c in 400|close) ;; *) fail "garbage $f answered $c" ;; esac
	alive "garbage $f"
done
# a method of bytes no one knows: any 4xx, or a close
c=$(raw "$T/r2")
case $c in 4[0-9][0-9]|close) ;; *) fail "garbage method answered $c" ;; esac
alive "a garbage method"
printf 'GET /healthz HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n' > "$T/r4"
c=$(raw "$T/r4")
case $c in 400|505|close) ;; *) fail "HTTP/9.9 answered $c" ;; esac
alive "HTTP/9.9"
pass "garbage request lines: 400 or a close"

{
	printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: '
	head -c 102400 /dev/zero | tr '\0' a
	printf '\r\n\r\n'
} > "$T/big-header"
c=$(raw "$T/big-header")
case $c in 431|400|close) ;; *) fail "100 KB header answered $c" ;; esac
alive "a 100 KB header"
c=$(status -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' a)" "$API/healthz")
case $c in 431|400|000) ;; *) fail "9000-byte header answered $c" ;; esac
c=$(status -H "X-Big: $(head -c 4000 /dev/zero | tr '\0' a)" "$API/healthz")
[ "$c" = 200 ] || fail "a 4000-byte header answered $c"
pass "headers over 8 KiB: refused"

{
	printf 'POST /v1/servers/demo/token/refresh HTTP/1.1\r\n'
	printf 'Host: 127.0.0.1\r\nContent-Length: 1048576\r\n\r\n'
	head -c 1048576 /dev/zero
} > "$T/big-body"
c=$(raw "$T/big-body")
case $c in 413|close) ;; *) fail "1 MB body answered $c" ;; esac
alive "a 1 MB body"
head -c 1048576 /dev/zero | tr '\0' a > "$T/mb"
c=$(status -X POST --data-binary @"$T/mb" \
    "$API/v1/servers/demo/token/refresh")
case $c in 413|000) ;; *) fail "1 MB body via curl answered $c" ;; esac
c=$(status -X POST -H 'Transfer-Encoding: chunked' --data-binary @"$T/mb" \
    "$API/v1/servers/demo/token/refresh")
case $c in 413|000) ;; *) fail "1 MB chunked body answered $c" ;; esac
alive "1 MB bodies"
pass "bodies over 4 KiB: 413"

# A request left half-sent, and a pile of idle connections, block no one.
exec 4<>"/dev/tcp/127.0.0.1/$API_PORT"
printf 'GET /v1/ser' >&4
fds=()
for i in $(seq 50); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$API_PORT" || fail "connect $i"
	fds+=("$fd")
done
start=$(date +%s%N)
alive "a half-sent request and 50 idle connections"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 2000 ] || fail "a normal request took $ms ms"
for fd in "${fds[@]}"; do
	exec {fd}>&-
done
exec 4>&-
pass "a half-sent request and idle connections block no one (${ms} ms)"

# ------------------------------------------------ require_header
stop_daemon || fail "SIGTERM: exit status $?"
write_config
sed -i 's|port = 0; };|port = 0; require_header = true; };|' \
    "$T/tokend.conf"
start_daemon
[ "$(status "$API/healthz")" = 200 ] || fail "/healthz needs no header"
c=$(status "$API/v1/servers/demo")
[ "$c" = 403 ] && jq -e '.error.code == "header_required"' "$T/out" \
    >/dev/null || fail "no X-Plex-Tokend: $c"
[ "$(status -H 'X-Plex-Tokend: 0' "$API/v1/servers/demo")" = 403 ] ||
    fail "X-Plex-Tokend: 0 accepted"
wait_for 10 test "$(status -H 'X-Plex-Tokend: 1' \
    "$API/v1/servers/demo/token")" = 200 || fail "X-Plex-Tokend: 1"
jq -j .token "$T/out" >> "$T/secrets"; echo >> "$T/secrets"
[ "$(status -H 'X-Plex-Tokend: 1' -H 'Host: evil.example.com' \
    "$API/v1/servers/demo")" = 403 ] || fail "the header excuses a bad Host"
pass "require_header = true: X-Plex-Tokend: 1 or 403"

# --------------------------------------- allow_remote on a wildcard
stop_daemon || fail "SIGTERM: exit status $?"
write_config
sed -i 's|address = "127.0.0.1"; port = 0; };|address = "0.0.0.0"; port = 0; allow_remote = true; };|' \
    "$T/tokend.conf"
start_daemon
[ "$(status -H 'Host: 192.0.2.7:32499' "$API/v1/servers/demo")" = 200 ] ||
    fail "allow_remote on 0.0.0.0: an IP literal Host"
[ "$(status -H 'Host: evil.example.com' "$API/v1/servers/demo")" = 403 ] ||
    fail "allow_remote: a name is still refused"
pass "allow_remote: the listen address is accepted, names are not"

stop_daemon || fail "SIGTERM: exit status $?"
check_no_secrets
