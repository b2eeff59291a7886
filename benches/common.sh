# Shell helpers for scripts that need a running exporter: build, free ports, start and wait for processes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bench_tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$bench_tmp"; }
trap cleanup EXIT

build() {
  cargo build --release --quiet --bin quota-exporter --example simulator
  exporter="$root/target/release/quota-exporter"
  simulator="$root/target/release/examples/simulator"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_http URL [SECONDS]: until URL answers 200.
wait_http() {
  local deadline=$((SECONDS + ${2:-60}))
  until curl -sf -o /dev/null "$1"; do
    [ $SECONDS -lt $deadline ] || { echo "timed out waiting for $1" >&2; return 1; }
    sleep 0.05
  done
}

# wedrive_accounts N URL: a config with N WeDrive accounts against the simulator's bench tenants.
wedrive_accounts() {
  local n=$1 url=$2
  printf 'defaults:\n  interval: 1h\n  startup_spread: 0s\n  max_concurrent_polls: %s\n  retries: 0\nwecom_wedrive:\n' "${3:-8}"
  for ((i = 0; i < n; i++)); do
    printf '  - {name: bench%d, corp_id: bench%d, secret: secret-bench%d, base_url: "%s"}\n' "$i" "$i" "$i" "$url"
  done
}

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
