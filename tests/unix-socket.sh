#!/bin/bash
# The API on a unix socket (listen.unix_socket, listen.socket_mode), in
# addition to TCP: the mode is what it says (another uid is refused at
# 0600, let in at 0666), any Host goes there, a stale socket file from
# a killed daemon is replaced, a live one or a regular file is refused,
# and a clean stop removes the file.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

# The socket lives where another uid may reach it, so that its mode is
# what decides; $T stays private.
SOCKDIR=$(mktemp -d "${TMPDIR:-/tmp}/plex-tokend-sock.XXXXXX")
chmod 755 "$SOCKDIR"
trap 'rc=$?; rm -rf "$SOCKDIR"; (exit $rc); cleanup' EXIT
SOCK=$SOCKDIR/api.sock

# sock_config MODE: the usual config plus the unix socket.
sock_config() {
	write_config
	sed -i "s|port = 0; };|port = 0; unix_socket = \"$SOCK\"; \
socket_mode = \"$1\"; };|" "$T/tokend.conf"
}

# ucode PATH [curl args]: the status of GET PATH on the unix socket.
ucode() {
	local path=$1
	shift
	curl -s -o "$T/out" -w '%{http_code}' --max-time 10 \
	    --unix-socket "$SOCK" "$@" "http://localhost$path"
}

start_sim
sock_config 0600
start_daemon
[ -S "$SOCK" ] || fail "no socket at $SOCK"
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "mode $(stat -c %a "$SOCK")"
[ "$(ucode /healthz)" = 200 ] || fail "/healthz on the unix socket"
wait_for 10 test "$(ucode /v1/servers/demo/token)" = 200 ||
    fail "no token on the unix socket"
jq -j .token "$T/out" > "$T/tok1"
cat "$T/tok1" >> "$T/secrets"; echo >> "$T/secrets"
sim_live "$T/tok1" || fail "the token is not live"
[ "$(ucode /v1/servers/demo -H 'Host: evil.example.com')" = 200 ] ||
    fail "the unix socket refused a Host"
[ "$(api GET /healthz "$T/out")" = 200 ] || fail "TCP is gone"
pass "the API answers on the unix socket (mode 0600), and on TCP"

# A second daemon on the same path: refused, and the first unharmed.
write_config
sed -i "s|port = 0; };|port = 0; unix_socket = \"$SOCK\"; };|" \
    "$T/tokend.conf"
"$TOKEND" -c "$T/tokend.conf" 2> "$T/second.log"
rc=$?
[ "$rc" = 2 ] || fail "a second daemon on a live socket: exit $rc"
grep -q "another process answers on $SOCK" "$T/second.log" ||
    fail "unclear refusal: $(cat "$T/second.log")"
[ "$(ucode /healthz)" = 200 ] || fail "the first daemon lost its socket"
pass "a live socket is not taken over"

stop_daemon || fail "SIGTERM: exit status $?"
[ -e "$SOCK" ] && fail "the socket file outlived a clean stop"
pass "a clean stop removes the socket file"

# A daemon killed hard leaves its socket behind: the next one replaces it.
sock_config 0660
start_daemon
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
[ -S "$SOCK" ] || fail "no stale socket to test with"
start_daemon
[ "$(ucode /healthz)" = 200 ] || fail "the stale socket was not replaced"
[ "$(stat -c %a "$SOCK")" = 660 ] || fail "mode $(stat -c %a "$SOCK")"
stop_daemon || fail "SIGTERM: exit status $?"
pass "a stale socket file from a killed daemon is replaced"

# A regular file where the socket goes: refused, and left alone.
echo "not a socket" > "$SOCK"
sock_config 0600
"$TOKEND" -c "$T/tokend.conf" 2> "$T/file.log"
rc=$?
[ "$rc" = 2 ] || fail "a regular file at the socket path: exit $rc"
grep -q "$SOCK exists and is not a socket" "$T/file.log" ||
    fail "unclear refusal: $(cat "$T/file.log")"
[ "$(cat "$SOCK")" = "not a socket" ] || fail "the file was touched"
rm -f "$SOCK"
pass "a regular file at the socket path is refused"
cat "$T/second.log" "$T/file.log" >> "$T/daemon.log"
check_no_secrets

# Another uid: refused at 0600, let in at 0666.
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: running another uid needs root; the mode test is skipped"
	exit 77
fi
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}
sock_config 0600
start_daemon
c=$(as_nobody curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    --unix-socket "$SOCK" http://localhost/healthz)
[ "$c" = 000 ] || fail "nobody got $c through a 0600 socket"
stop_daemon || fail "SIGTERM: exit status $?"
sock_config 0666
start_daemon
c=$(as_nobody curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    --unix-socket "$SOCK" http://localhost/healthz)
[ "$c" = 200 ] || fail "nobody got $c through a 0666 socket"
stop_daemon || fail "SIGTERM: exit status $?"
pass "mode 0600 refuses another uid (0666 lets it in)"
check_no_secrets
