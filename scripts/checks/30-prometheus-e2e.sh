#!/usr/bin/env bash
# End-to-end check of the Prometheus rules and Grafana dashboards against a real
# Prometheus scraping the exporter's demo (scripts/checks/prometheus_e2e.py says what is
# checked). Needs the exporter binary: $QUOTA_EXPORTER_BIN, default target/debug/quota-exporter.
# Also starts a real Alertmanager with deploy/alertmanager/alertmanager.yml (receivers emptied).
# Everything listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null 2>&1 || {
    as_root apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
  }
}
command -v prometheus >/dev/null || [ -x /usr/bin/prometheus ] || apt_install prometheus
command -v prometheus-alertmanager >/dev/null || [ -x /usr/bin/prometheus-alertmanager ] || apt_install prometheus-alertmanager
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install -q PyYAML

bin="${QUOTA_EXPORTER_BIN:-target/debug/quota-exporter}"
[ -x "$bin" ] || { echo "30-prometheus-e2e: FAIL exporter binary $bin not found (build it, or set QUOTA_EXPORTER_BIN)" >&2; exit 1; }

# The Python script stops the exporter and Prometheus itself on exit; the trap makes
# sure it gets the chance when this script is interrupted.
python3 scripts/checks/prometheus_e2e.py "$bin" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' INT TERM HUP
trap 'kill -TERM "$pid" 2>/dev/null || true' EXIT
wait "$pid"
