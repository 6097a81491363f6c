#!/bin/bash
# sd_notify: READY=1 once the first token is in hand, RELOADING=1 and
# READY=1 around SIGHUP, STOPPING=1 on SIGTERM, and WATCHDOG=1 every
# half watchdog interval.  tests/notify-listen plays systemd's socket.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

if ! grep -q '^#define HAVE_SYSTEMD 1' "$top_builddir/ac-config.h"; then
	echo "SKIP: built without libsystemd (configure --without-systemd)"
	exit 77
fi

LISTENER_PID=
trap 'rc=$?; [ -n "$LISTENER_PID" ] && kill "$LISTENER_PID" 2>/dev/null
    (exit $rc); cleanup' EXIT

# has FIELD: a notification carrying FIELD (such as READY=1) arrived.
has() {
	grep -qE "(^| )$1( |\$)" "$T/notify.log"
}

count() {
	grep -cE "(^| )$1( |\$)" "$T/notify.log"
}

# at_least FIELD N: N notifications carrying FIELD arrived.
at_least() {
	[ "$(count "$1")" -ge "$2" ]
}

: > "$T/notify.log"
"$top_builddir/tests/notify-listen" "$T/notify.sock" "$T/notify.log" &
LISTENER_PID=$!
wait_for 5 test -S "$T/notify.sock" || fail "notify-listen did not start"

# A slow Plex: READY=1 must wait for the token, not for the listener.
start_sim --delay-ms 500
write_config
export NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=400000
start_daemon
unset NOTIFY_SOCKET WATCHDOG_USEC

wait_for 10 has READY=1 || fail "no READY=1"
code=$(api GET /readyz "$T/r.json")
[ "$code" = 200 ] || fail "READY=1 before a token: /readyz answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 0.3 \
    "$API/v1/servers/demo/token")
[ "$code" = 200 ] || fail "READY=1 but no token at once: $code"
[ "$(count READY=1)" = 1 ] || fail "READY=1 sent $(count READY=1) times"
grep -E '(^| )READY=1( |$)' "$T/notify.log" |
    grep -q 'STATUS=1/1 servers ready' ||
    fail "READY=1 without STATUS=1/1 servers ready: $(cat "$T/notify.log")"
pass "READY=1 with STATUS= once the token is served"

n=$(count WATCHDOG=1)
wait_for 5 at_least WATCHDOG=1 $((n + 4)) ||
    fail "WATCHDOG=1 does not keep arriving ($(count WATCHDOG=1))"
pass "WATCHDOG=1 keeps arriving"

kill -HUP "$DAEMON_PID"
wait_for 10 has RELOADING=1 || fail "no RELOADING=1 on SIGHUP"
grep -E '(^| )RELOADING=1( |$)' "$T/notify.log" |
    grep -qE 'MONOTONIC_USEC=[0-9]+' ||
    fail "RELOADING=1 without MONOTONIC_USEC"
wait_for 10 at_least READY=1 2 || fail "no READY=1 after reload"
sed -n '/RELOADING=1/,$p' "$T/notify.log" | grep -qE '(^| )READY=1( |$)' ||
    fail "READY=1 does not follow RELOADING=1"
pass "RELOADING=1, then READY=1, around SIGHUP"

stop_daemon || fail "SIGTERM: exit status $?"
has STOPPING=1 || fail "no STOPPING=1 on SIGTERM"
pass "STOPPING=1 on SIGTERM"
check_no_secrets
