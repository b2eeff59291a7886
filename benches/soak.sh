#!/usr/bin/env bash
# Soak: many accounts against the standalone simulator, random faults switched on and off,
# scraped back to back, for a bounded time. Prints RSS every minute, then RSS at the start and
# the end, the spread over the second half, open sockets, scrape errors, polls and panics.
# Numbers only: nothing here passes or fails.
#
#   benches/soak.sh                                       # 10 minutes, 1,000 accounts every 5s
#   SOAK_SECONDS=120 SOAK_PROFILE=debug benches/soak.sh   # a short run on the debug build
#
# SOAK_SECONDS (600), SOAK_ACCOUNTS (1000), SOAK_INTERVAL (5s), SOAK_PROFILE (release|debug).
source "$(dirname "$0")/common.sh"
secs=${SOAK_SECONDS:-600}
n=${SOAK_ACCOUNTS:-1000}
interval=${SOAK_INTERVAL:-5s}

if [ "${SOAK_PROFILE:-release}" = debug ]; then
  cargo build --quiet --bin quota-exporter --example simulator
  exporter="$root/target/debug/quota-exporter"
  simulator="$root/target/debug/examples/simulator"
else
  build
fi

sim_port=$(free_port)
port=$(free_port)
sim="http://127.0.0.1:$sim_port"
metrics="http://127.0.0.1:$port/metrics"
"$simulator" "127.0.0.1:$sim_port" "$n" >"$bench_tmp/sim.log" 2>&1 &
pids+=($!)
wait_http "$sim/_sim/stats"
# Polls every $interval with one retry; a 2s timeout so hangs end well inside the interval.
wedrive_accounts "$n" "$sim" 16 |
  sed "s/^  interval: 1h/  interval: $interval\n  timeout: 2s\n  max_staleness: 1m\n  startup_spread: 5s/; /^  startup_spread: 0s/d; s/^  retries: 0/  retries: 1\n  retry_backoff: 100ms/" \
    >"$bench_tmp/config.yml"
"$exporter" --config.file "$bench_tmp/config.yml" --web.listen-address "127.0.0.1:$port" \
  --log.level error >"$bench_tmp/exporter.log" 2>&1 &
exporter_pid=$!
pids+=($exporter_pid)
wait_http "http://127.0.0.1:$port/-/ready" 300

sockets() { find "/proc/$1/fd" -lname 'socket:*' 2>/dev/null | wc -l; }
polls() { curl -s "$metrics" | awk '/^quota_exporter_polls_total\{/ {s += $NF} END {printf "%d", s}'; }
echo "soak: $n WeDrive accounts every $interval, ${secs}s, random faults, continuous scraping"
rss_start=$(rss_kb "$exporter_pid")
printf 'start  rss_kib=%s open_sockets=%s\n' "$rss_start" "$(sockets "$exporter_pid")"

# Faults: every 2 s one at random on a random tenant for a few calls; all cleared every 30 s.
faults=('{"kind":"http_status","status":500}' '{"kind":"hang"}' '{"kind":"slow","millis":3000}'
  '{"kind":"malformed_json"}' '{"kind":"wrong_types"}' '{"kind":"rate_limit","retry_after_secs":1}'
  '{"kind":"expire_tokens"}' '{"kind":"vendor_error","code":"-1"}' '{"kind":"http_status","status":503}')
(
  end=$((SECONDS + secs))
  while [ $SECONDS -lt $end ]; do
    f=${faults[RANDOM % ${#faults[@]}]}
    curl -s -o /dev/null -X POST -H 'content-type: application/json' "$sim/_sim/faults" \
      -d "{\"vendor\":\"wecom_wedrive\",\"tenant\":\"bench$((RANDOM % n))\",\"fault\":$f,\"times\":$((RANDOM % 5 + 1))}" || true
    if [ $((SECONDS % 30)) -lt 2 ]; then curl -s -o /dev/null -X DELETE "$sim/_sim/faults" || true; fi
    sleep 2
  done
) &
pids+=($!)

# RSS once a minute, in the background, for the spread over the run.
t0=$SECONDS
(
  end=$((SECONDS + secs))
  while [ $SECONDS -lt $end ]; do
    sleep 60
    printf 't=%ss rss_kib=%s open_sockets=%s\n' "$((SECONDS - t0))" "$(rss_kb "$exporter_pid")" "$(sockets "$exporter_pid")" |
      tee -a "$bench_tmp/rss.log"
  done
) &
pids+=($!)

# Scraping: back to back, half gzip, counting what did not come back 200.
polls_start=$(polls)
scrapes=0
errors=0
end=$((SECONDS + secs))
while [ $SECONDS -lt $end ]; do
  enc=identity
  [ $((scrapes % 2)) = 0 ] && enc=gzip
  code=$(curl -s -o /dev/null -m 10 -w '%{http_code}' -H "Accept-Encoding: $enc" "$metrics" || true)
  scrapes=$((scrapes + 1))
  [ "$code" = 200 ] || errors=$((errors + 1))
done
polls_end=$(polls)
rss_end=$(rss_kb "$exporter_pid")
printf 'end    rss_kib=%s hwm_kib=%s open_sockets=%s\n' "$rss_end" "$(hwm_kb "$exporter_pid")" "$(sockets "$exporter_pid")"
# The second half of the minutely samples: a flat process has a small spread here.
half=$(awk -v h=$((secs / 2)) '{split($1, t, "="); sub("s", "", t[2]); if (t[2] + 0 >= h) print}' "$bench_tmp/rss.log" |
  sed 's/.*rss_kib=\([0-9]*\).*/\1/' | sort -n | awk 'NR == 1 {min = $1} {max = $1} END {if (NR) printf "%d..%d KiB (%d samples)", min, max, NR; else print "n/a"}')
up=$(curl -s "$metrics" | grep -c '^quota_exporter_up{.*} 1' || true)
panics=$(curl -s "$metrics" | awk '/^quota_exporter_poll_failures_total\{.*reason="panic"/ {s += $NF} END {printf "%d", s}')
echo "rss second half: $half"
echo "scrapes=$scrapes scrape_errors=$errors polls=$((polls_end - polls_start)) accounts_up_at_end=$up/$n panics=$panics"
