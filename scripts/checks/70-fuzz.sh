#!/usr/bin/env bash
# A bounded fuzz smoke run: every cargo-fuzz target in fuzz/ for FUZZ_SECONDS (10) each, from
# the seeds in fuzz/seeds/ (and the shipped config files for the config loader). Any crash,
# panic or leak-sized allocation fails the check and leaves its input under fuzz/artifacts/,
# which becomes a fixture test. Longer runs: `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET`.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
seconds=${FUZZ_SECONDS:-10}

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
# libFuzzer is C++: cargo-fuzz builds it with the system compiler.
command -v c++ >/dev/null || {
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq g++ >/dev/null
}

cd fuzz
# cargo-fuzz needs nightly flags (-Z sanitizer options); RUSTC_BOOTSTRAP lets stable take them.
# Unoptimised and without a sanitizer: quick to build, and safe Rust needs no ASan for panics.
export RUSTC_BOOTSTRAP=1
cargo fuzz build --dev -s none 2>&1 | grep -v '^ *Compiling' || true
targets=$(cargo fuzz list)
[ -n "$targets" ] || { echo "no fuzz targets" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
for target in $targets; do
  corpus="$work/$target"
  mkdir -p "$corpus"
  [ -d "seeds/$target" ] && cp seeds/"$target"/* "$corpus/"
  [ "$target" = config_loader ] && cp "$root"/config/*.yml "$corpus/"
  [ -n "$(ls -A "$corpus")" ] || { echo "$target: no seeds in fuzz/seeds/$target" >&2; failed=1; continue; }
  mkdir -p "artifacts/$target"
  if cargo fuzz run --dev -s none "$target" "$corpus" -- \
    -max_total_time="$seconds" -rss_limit_mb=1024 -malloc_limit_mb=512 -timeout=10 \
    -artifact_prefix="artifacts/$target/" -print_final_stats=1 >"$work/$target.log" 2>&1; then
    runs=$(awk '/stat::number_of_executed_units/ {print $NF}' "$work/$target.log")
    echo "$target: ok, ${runs:-?} inputs in ${seconds}s"
  else
    echo "$target: FAILED"
    grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$work/$target.log" | head -20
    failed=1
  fi
done
exit $failed
