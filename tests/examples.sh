#!/bin/bash
# examples/: the Home Assistant YAML parses (with Home Assistant's
# !secret tag), and a live /metrics passes promtool check metrics.
# Skips (77) when promtool is not installed.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

ha=$top_srcdir/examples/home-assistant.yaml
if python3 -c 'import yaml' 2>/dev/null; then
	python3 - "$ha" <<'PY' || fail "examples/home-assistant.yaml"
import sys, yaml
class L(yaml.SafeLoader):
    pass
L.add_constructor("!secret", lambda l, n: l.construct_scalar(n))
d = yaml.load(open(sys.argv[1]), Loader=L)
assert set(d) == {"rest", "command_line", "automation"}, sorted(d)
r = d["rest"][0]
assert r["resource"].endswith("/v1/servers/living-room")
assert d["automation"][0]["trigger"][0]["platform"] == "webhook"
PY
	pass "the Home Assistant example is valid YAML"
else
	echo "skip: no YAML parser (python3 yaml) to check the HA example"
fi

command -v promtool >/dev/null || {
	echo "skip: promtool not installed (Debian: apt-get install prometheus)"
	exit 77
}
start_sim
write_config
start_daemon
wait_for 10 get_token "$T/tok" || fail "no token served"
curl -sf -o "$T/metrics" "$API/metrics" || fail "GET /metrics"
promtool check metrics < "$T/metrics" > "$T/promtool.out" 2>&1 ||
    fail "promtool: $(cat "$T/promtool.out")"
pass "promtool check metrics: $(wc -l < "$T/promtool.out") remarks"
for m in $(grep -o '^# TYPE plex_tokend_[a-z_]*' "$T/metrics" |
    cut -d' ' -f3); do
	grep -qF "\`$m\`" "$top_srcdir/examples/metrics.md" ||
	    fail "examples/metrics.md does not list $m"
done
pass "examples/metrics.md lists every metric served"
stop_daemon || fail "SIGTERM: exit status $?"
check_no_secrets
