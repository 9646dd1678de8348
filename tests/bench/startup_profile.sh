#!/usr/bin/env bash
# Where dnsd's start-up time and memory go for a large zone (issue: a zone should cost less to hold and
# load in dnsd than in Knot): CLUSTERS x MEMBERS members (tests/bench/scale_zone.sh), one worker.
# Prints the time from exec to the first answer and the RSS then (best of ROUNDS), then a heap profile
# of one start (heaptrack: peak heap and the functions that hold it at the peak), the phases of the
# start-up as dnsd's own log times them, and each phase timed alone (bench_startup_phases). Not part of `make test`.
# Usage: tests/bench/startup_profile.sh [build dir] [clusters] [members] [rounds]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/bench/lib.sh"
build=${1:-$src/build}
clusters=${2:-2000}
members=${3:-5}
rounds=${4:-3}
tmp=$(mktemp -d)
trap 'pkill -P $$ 2>/dev/null || true; rm -rf "$tmp"' EXIT
port=$(shuf -i 20000-31000 -n 1)
PORT=$port "$src/tests/bench/scale_zone.sh" "$tmp" "$clusters" "$members"

best_t=999 best_rss=0
for _ in $(seq "$rounds"); do
  rm -rf "$tmp/state"
  first_answer "$port" scale.example.com "$tmp/run.log" "$build/dnsd" run -c "$tmp/dnsd.yaml"
  stop_server
  if (( $(echo "$t < $best_t" | bc) )); then best_t=$t; best_rss=$rss; fi
done
echo "| zone | start to first answer (best of $rounds) | RSS then |"
echo "|---|---|---|"
printf '| %d clusters x %d members | %.3f s | %d MiB |\n' "$clusters" "$members" "$best_t" $((best_rss / 1024))

echo
echo "Start-up phases (dnsd's log, one start):"
grep -E "starting|loaded|answering" "$tmp/run.log" | sed 's/^/  /'

echo
echo "Each phase alone, and what it keeps:"
"$build/tests/bench_startup_phases" "$tmp/dnsd.yaml" "$tmp/zones/scale.yaml" 5

if command -v heaptrack > /dev/null; then
  rm -rf "$tmp/state"
  first_answer "$port" scale.example.com "$tmp/run.log" heaptrack -o "$tmp/heap" "$build/dnsd" run -c "$tmp/dnsd.yaml"
  stop_server
  sleep 1
  echo
  echo "Heap at its peak (heaptrack):"
  heaptrack_print -f "$tmp"/heap*.zst --print-peaks 1 --print-allocators 0 --print-leaks 0 --print-temporary 0 \
    --peak-limit 12 2>/dev/null | awk '/PEAK MEMORY CONSUMERS/,0' | grep -E "^[0-9.]+[KMG]?B? peak|^  [0-9]|peak memory consumed|at /|^[0-9]" | head -40
  heaptrack_print -f "$tmp"/heap*.zst 2>/dev/null | grep -E "^peak heap memory consumption|^total memory leaked|^calls to allocation functions" | sed 's/^/  /'
fi
