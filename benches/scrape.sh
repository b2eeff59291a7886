#!/usr/bin/env bash
# /metrics throughput against nginx serving the same bytes as a static file (wrk, loopback,
# 2 threads, 32 connections, 10 s each). Target: the exporter at >= 0.8x nginx.
source "$(dirname "$0")/common.sh"
for tool in wrk nginx; do
  command -v $tool >/dev/null || { echo "needs $tool (Debian: wrk, nginx-light)"; exit 1; }
done
duration=${1:-10s}
build
port=$(free_port); nginx_port=$(free_port)
"$exporter" --demo --web.listen-address "127.0.0.1:$port" --log.level warn 2>/dev/null & pids+=($!)
wait_http "http://127.0.0.1:$port/-/ready"
chmod 755 "$bench_tmp"; mkdir -p "$bench_tmp/www"
curl -s "http://127.0.0.1:$port/metrics" > "$bench_tmp/www/metrics"
cat > "$bench_tmp/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $bench_tmp/nginx.pid;
error_log $bench_tmp/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  default_type "text/plain; version=0.0.4; charset=utf-8";
  server { listen 127.0.0.1:$nginx_port; root $bench_tmp/www; }
}
CONF
nginx -c "$bench_tmp/nginx.conf" & pids+=($!)
wait_http "http://127.0.0.1:$nginx_port/metrics"
rps() { wrk -t2 -c32 -d"$duration" "$1" | awk '/Requests\/sec/ {print $2}'; }
exporter_rps=$(rps "http://127.0.0.1:$port/metrics")
nginx_rps=$(rps "http://127.0.0.1:$nginx_port/metrics")
echo "bytes=$(wc -c < "$bench_tmp/www/metrics") exporter_rps=$exporter_rps nginx_rps=$nginx_rps ratio=$(echo "scale=2; $exporter_rps / $nginx_rps" | bc)"
