#!/usr/bin/env bash
# Static checks of the monitoring content (docs/alerting.md):
#   promtool check rules / test rules / check config, amtool check-config and the
#   routing tree, and 20-rules-lint.py (labels, annotations, runbooks, test coverage,
#   dashboard units, descriptions and variables).
# Run from anywhere; installs promtool, amtool and PyYAML when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  echo "20-rules: installing $*"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null 2>&1 || {
    as_root apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
  }
}
command -v promtool >/dev/null || apt_install prometheus
command -v amtool >/dev/null || apt_install prometheus-alertmanager
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install -q PyYAML

fail() { echo "20-rules: FAIL $*" >&2; exit 1; }
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
run() { # run a command quietly; show its output only when it fails
  if ! "$@" >"$out" 2>&1; then cat "$out" >&2; fail "$*"; fi
}

rules=(deploy/prometheus/rules/recording.yml deploy/prometheus/rules/alerts.yml)
tests=(deploy/prometheus/tests/*.yml)

run promtool check rules "${rules[@]}"
echo "20-rules: promtool check rules: OK ($(grep -o '[0-9]* rules found' "$out" | paste -sd, -))"

run promtool test rules "${tests[@]}"
grep -q FAILED "$out" && { cat "$out" >&2; fail "promtool test rules"; }
echo "20-rules: promtool test rules: OK (${#tests[@]} files)"

run promtool check config deploy/prometheus/prometheus.yml
echo "20-rules: promtool check config deploy/prometheus/prometheus.yml: OK"

run amtool check-config deploy/alertmanager/alertmanager.yml
echo "20-rules: amtool check-config deploy/alertmanager/alertmanager.yml: OK"

# The routing the docs promise: critical pages (and goes to chat), warnings go to chat and e-mail.
route() { amtool config routes test --config.file deploy/alertmanager/alertmanager.yml "$@" 2>/dev/null; }
[ "$(route severity=critical vendor=koodrive account=a alertname=QuotaStorageNearlyFull)" = "pager,chat" ] ||
  fail "critical alerts should route to pager,chat"
[ "$(route severity=warning vendor=koodrive account=a alertname=QuotaStorageNearlyFull)" = "chat,email" ] ||
  fail "warning alerts should route to chat,email"
echo "20-rules: Alertmanager routing: OK (critical -> pager,chat; warning -> chat,email)"

python3 scripts/checks/20-rules-lint.py
echo "20-rules: OK"
