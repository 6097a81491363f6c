#!/bin/bash
# Socket activation: systemd-socket-activate binds a TCP and a unix
# socket, passes them as fds 3 and 4 (LISTEN_FDS, LISTEN_PID) and starts
# the daemon on the first connection; the daemon answers on both and
# does not bind its configured port.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

if ! grep -q '^#define HAVE_SYSTEMD 1' "$top_builddir/ac-config.h"; then
	echo "SKIP: built without libsystemd (configure --without-systemd)"
	exit 77
fi
ACTIVATE=$(command -v systemd-socket-activate) || {
	echo "SKIP: systemd-socket-activate not found (Debian package systemd)"
	exit 77
}

start_sim
write_config

listening_or_gone() {
	grep -q 'Listening on' "$T/daemon.log" || ! kill -0 "$DAEMON_PID"
}

# A free port: systemd-socket-activate cannot be given port 0 and tell.
start_activated() {
	local port=$1
	: > "$T/daemon.log"
	"$ACTIVATE" -l "127.0.0.1:$port" -l "$T/api.sock" \
	    "$TOKEND" -c "$T/tokend.conf" -l debug 2>> "$T/daemon.log" &
	DAEMON_PID=$!
	wait_for 5 listening_or_gone
	grep -q 'Listening on' "$T/daemon.log" && return 0
	kill "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
	return 1
}
for try in 1 2 3 4 5; do
	PORT=$((20000 + RANDOM % 40000))
	start_activated "$PORT" && break
	PORT=
done
[ -n "$PORT" ] || fail "systemd-socket-activate could not bind a port"
API=http://127.0.0.1:$PORT

# The first connection starts the daemon.
code=$(curl -s --max-time 10 -o "$T/h.json" -w '%{http_code}' "$API/healthz")
[ "$code" = 200 ] || fail "/healthz on the passed TCP socket: $code"
wait_for 5 grep -q 'listening on 2 socket(s) passed by systemd' \
    "$T/daemon.log" ||
    fail "the daemon did not take the 2 sockets"
pass "answers on the passed TCP socket"

code=$(curl -s --max-time 10 --unix-socket "$T/api.sock" -o "$T/u.json" \
    -w '%{http_code}' http://localhost/healthz)
[ "$code" = 200 ] || fail "/healthz on the passed unix socket: $code"
pass "answers on the passed unix socket"

wait_for 10 get_token "$T/tok1" || fail "no token on the passed socket"
sim_live "$T/tok1" || fail "the served token is not live in plex-sim"
pass "a live token through the passed socket"

stop_daemon || fail "SIGTERM: exit status $?"
pass "SIGTERM exits 0"
check_no_secrets
