#!/usr/bin/env bash
# Time to poll N WeDrive accounts (default 10,000) once: from start-up until /-/ready (every
# account has finished its first poll). Target: 10,000 accounts in <= 30 s.
source "$(dirname "$0")/common.sh"
n=${1:-10000}
concurrency=${2:-64}
build
sim_port=$(free_port); port=$(free_port)
"$simulator" "127.0.0.1:$sim_port" "$n" >/dev/null & pids+=($!)
wait_http "http://127.0.0.1:$sim_port/_sim/stats"
wedrive_accounts "$n" "http://127.0.0.1:$sim_port" "$concurrency" > "$bench_tmp/config.yml"
start=$(date +%s.%N)
"$exporter" --config.file "$bench_tmp/config.yml" --web.listen-address "127.0.0.1:$port" --log.level warn 2>/dev/null & pid=$!; pids+=($pid)
wait_http "http://127.0.0.1:$port/-/ready" 600
end=$(date +%s.%N)
up=$(curl -s "http://127.0.0.1:$port/metrics" | grep -c '^quota_exporter_up{.*} 1$' || true)
echo "accounts=$n concurrency=$concurrency seconds=$(echo "$end - $start" | bc) up=$up rss_kb=$(rss_kb $pid) peak_rss_kb=$(hwm_kb $pid)"
