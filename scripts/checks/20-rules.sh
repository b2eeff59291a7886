#!/usr/bin/env bash
# Static checks of the monitoring content (docs/alerting.md):
#   promtool check rules / test rules / check config, amtool check-config and the
#   routing tree, and 20-rules-lint.py (labels, annotations, runbooks, test coverage,
#   dashboard units, descriptions and variables).
# Run from anywhere; installs promtool, amtool and PyYAML when missing. Reads the vendors and
# metric families from the exporter binary ($QUOTA_EXPORTER_BIN --print-catalogue).
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

# The rule files, the PrometheusRule and the dashboards are rendered from mixin/: fail when a
# committed file differs from a fresh rendering (mixin/build.sh installs jsonnet when missing).
run mixin/build.sh --check
echo "20-rules: $(tail -1 "$out")"

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

# The routing the docs promise: urgency="high" pages (and reaches the team), every other alert
# is a ticket for the account's team, or the shared chat and e-mail without one.
# For every vendor of the catalogue (--print-catalogue).
route() { amtool config routes test --config.file deploy/alertmanager/alertmanager.yml "$@" 2>/dev/null; }
vendors=$(python3 -c 'import sys; sys.path.insert(0, "scripts/checks"); import catalogue; print(*catalogue.load().vendor_names())') ||
  fail "cannot read the catalogue (--print-catalogue)"
for vendor in $vendors; do
  [ "$(route urgency=high severity=critical team=security vendor="$vendor" account=a alertname=QuotaSubscriptionExpired)" = "pager,security" ] ||
    fail "$vendor: urgency=high should page and reach the team: pager,security"
  [ "$(route urgency=low severity=critical team=security vendor="$vendor" account=a alertname=QuotaLicencesExpired)" = "security" ] ||
    fail "$vendor: a low-urgency critical is a ticket for its team"
  [ "$(route urgency=low severity=warning team=collaboration vendor="$vendor" account=a alertname=QuotaStorageNearlyFull)" = "collaboration" ] ||
    fail "$vendor: team=collaboration should route to collaboration"
  [ "$(route urgency=low severity=warning vendor="$vendor" account=a alertname=QuotaStorageNearlyFull)" = "chat,email" ] ||
    fail "$vendor: alerts without a team should go to chat,email"
done
echo "20-rules: Alertmanager routing: OK (urgency=high -> pager + team; team -> its receiver; no team -> chat,email; vendors $vendors)"

# A change to the mixin's _config changes what fires: rendered with storageWarningRatio 0.5
# instead of 0.85, an account at 60 % warns (mixin/tests/).
override="$(mktemp -d)"
trap 'rm -f "$out"; rm -rf "$override"' EXIT
mkdir -p "$override/rules" "$override/tests"
run python3 mixin/render.py "$override/full" --mixin mixin/tests/override.jsonnet
cp "$override"/full/deploy/prometheus/rules/*.yml "$override/rules/"
cp mixin/tests/override_test.yml "$override/tests/"
run promtool test rules "$override/tests/override_test.yml"
echo "20-rules: mixin _config override changes the alerts: OK"

python3 scripts/checks/20-rules-lint.py
echo "20-rules: OK"
