#!/usr/bin/env bash
# Resident memory of the exporter polling N WeDrive accounts (default 10) against the simulator,
# a separate process, after the first polls and 200 scrapes. Target: <= 12 MB at 10 accounts.
source "$(dirname "$0")/common.sh"
n=${1:-10}
build
sim_port=$(free_port); port=$(free_port)
"$simulator" "127.0.0.1:$sim_port" "$n" >/dev/null & pids+=($!)
wait_http "http://127.0.0.1:$sim_port/_sim/stats"
wedrive_accounts "$n" "http://127.0.0.1:$sim_port" > "$bench_tmp/config.yml"
"$exporter" --config.file "$bench_tmp/config.yml" --web.listen-address "127.0.0.1:$port" --log.level warn 2>/dev/null & pid=$!; pids+=($pid)
wait_http "http://127.0.0.1:$port/-/ready"
for _ in $(seq 200); do curl -s -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/metrics" >/dev/null; done
echo "accounts=$n rss_kb=$(rss_kb $pid) peak_rss_kb=$(hwm_kb $pid) exposition_bytes=$(curl -s "http://127.0.0.1:$port/metrics" | wc -c)"
