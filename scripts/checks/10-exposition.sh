#!/usr/bin/env bash
# Lints the demo's exposition in both formats with independent parsers:
# the classic text format with `promtool check metrics` (Prometheus' own linter), and the
# OpenMetrics format with the strict parser of Python's prometheus_client.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${QUOTA_EXPORTER_BIN:-target/debug/quota-exporter}"
exec python3 scripts/checks/exposition.py "$bin"
