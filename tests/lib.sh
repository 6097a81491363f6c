# tests/lib.sh - shared by the integration tests (bash).
#
# Starts tests/plex-sim and plex-tokend on free loopback ports with a
# temporary configuration, waits on conditions rather than sleeping, and
# stops everything it started by PID.  Tests never print a token: what
# they fetch goes into files under $T, and check_no_secrets greps the
# daemon's debug log for every token seen.

set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
SIM=$top_builddir/tests/plex-sim
TOKEND=$top_builddir/plex-tokend

T=$(mktemp -d "${TMPDIR:-/tmp}/plex-tokend-test.XXXXXX")
SIM_PID=
DAEMON_PID=
FAILED=0

cleanup() {
	local rc=$?
	[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
	wait 2>/dev/null
	if [ "$rc" -ne 0 ] || [ "$FAILED" -ne 0 ]; then
		echo "--- daemon log (last 40 lines)"
		tail -n 40 "$T/daemon.log" 2>/dev/null
	fi
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	FAILED=1
	exit 1
}

pass() {
	echo "ok: $*"
}

# wait_for SECONDS COMMAND...: poll every 20 ms until COMMAND succeeds.
wait_for() {
	local limit=$1 end
	shift
	end=$(( $(date +%s%N) + limit * 1000000000 ))
	until "$@"; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.02
	done
}

# A fresh fake admin token: unique, so a leak is found by grep.
ADMIN_TOKEN=canary-admin-$RANDOM$RANDOM$RANDOM
printf '%s\n' "$ADMIN_TOKEN" > "$T/admin.token"
chmod 600 "$T/admin.token"
echo "$ADMIN_TOKEN" >> "$T/secrets"

start_sim() {
	rm -f "$T/sim.ports"
	"$SIM" --quiet --port-file "$T/sim.ports" \
	    --issued-file "$T/issued" \
	    --admin-token-file "$T/admin.token" "$@" &
	SIM_PID=$!
	wait_for 10 test -s "$T/sim.ports" || fail "plex-sim did not start"
	read -r SIM_PORT SIM_CTL < "$T/sim.ports"
	SIM_URL=http://127.0.0.1:$SIM_PORT
}

# sim_ctl PATH [curl args]: POST to the simulator's control port.
sim_ctl() {
	local path=$1
	shift
	curl -sf -X POST "$@" "http://127.0.0.1:$SIM_CTL$path" >/dev/null ||
	    fail "plex-sim control $path failed"
}

# sim_stat KEY: one counter from the simulator's /stats.
sim_stat() {
	curl -sf "http://127.0.0.1:$SIM_CTL/stats" | jq -r ".$1"
}

# sim_live FILE: is the token in FILE live in the simulator?
sim_live() {
	curl -sf -X POST --data-binary @"$1" \
	    "http://127.0.0.1:$SIM_CTL/check" | jq -e '.live' >/dev/null
}

# write_config [EXTRA...]: a config for one server "demo" on plex-sim;
# each EXTRA line is appended at the top level.
write_config() {
	mkdir -p "$T/state"
	cat > "$T/tokend.conf" <<CONF
listen: { address = "127.0.0.1"; port = 0; };
state_directory = "$T/state";
log_level = "debug";
refresh: {
  lifetime = "${LIFETIME:-48h}";
  refresh_before = "${REFRESH_BEFORE:-6h}";
  verify_interval = "${VERIFY_INTERVAL:-60s}";
  retry_min = "${RETRY_MIN:-1s}";
  retry_max = "${RETRY_MAX:-5m}";
  timeout = "${TIMEOUT:-5s}";
  min_forced_interval = "${MIN_FORCED:-10s}";
};
servers = (
  { name = "demo"; url = "$SIM_URL"; token_file = "$T/admin.token"; }
);
CONF
	local line
	for line in "$@"; do
		echo "$line" >> "$T/tokend.conf"
	done
}

start_daemon() {
	: > "$T/daemon.log"
	"$TOKEND" -c "$T/tokend.conf" -l debug "$@" 2>> "$T/daemon.log" &
	DAEMON_PID=$!
	wait_for 10 grep -q 'listening on .* port [0-9]' "$T/daemon.log" ||
	    fail "plex-tokend did not start"
	API_PORT=$(sed -n 's/.*listening on .* port \([0-9]*\).*/\1/p' \
	    "$T/daemon.log" | tail -n 1)
	API=http://127.0.0.1:$API_PORT
}

stop_daemon() {
	kill -TERM "$DAEMON_PID"
	wait "$DAEMON_PID"
	local rc=$?
	DAEMON_PID=
	return $rc
}

# api METHOD PATH OUTFILE [curl args]: prints the HTTP status.
api() {
	local method=$1 path=$2 out=$3
	shift 3
	curl -s -X "$method" -o "$out" -w '%{http_code}' "$@" "$API$path"
}

# get_token FILE: fetch demo's token into FILE (bare), remember it.
get_token() {
	local code
	code=$(api GET /v1/servers/demo/token "$T/tok.json") || return 1
	[ "$code" = 200 ] || return 1
	jq -j '.token' "$T/tok.json" > "$1"
	cat "$1" >> "$T/secrets"
	echo >> "$T/secrets"
}

# No secret seen in this test, and no token plex-sim issued, appears in
# the daemon's log.
check_no_secrets() {
	local s
	cat "$T/issued" >> "$T/secrets" 2>/dev/null
	while read -r s; do
		[ -n "$s" ] || continue
		if grep -qF -- "$s" "$T/daemon.log"; then
			fail "a secret appears in the daemon log"
		fi
	done < "$T/secrets"
	pass "no secret in the daemon's debug log"
}
