#!/usr/bin/env bash
# What a zone costs to hold, load and transfer as it grows, dnsd beside Knot DNS serving the same
# records (`dnsd check` output): for each level of members (clusters of 5, tests/bench/scale_zone.sh,
# transfers allowed from loopback), the time from exec to the first answer and the RSS then (best of
# ROUNDS, a fresh state_dir / Knot storage each time), and the wall time of one AXFR over TCP (median
# of ROUNDS, kdig). One worker each. What a change costs is put_scale.py's table (PUT to 2xx and to
# visible), what probing costs probe_scale.sh's. Not part of `make test`.
# Usage: tests/bench/scale.sh [build dir] [levels, e.g. 100,1000,10000] [rounds]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/bench/lib.sh"
build=${1:-$src/build}
levels=${2:-100,1000,10000}
rounds=${3:-3}
tmp=$(mktemp -d)
trap 'pkill -P $$ 2>/dev/null || true; rm -rf "$tmp"' EXIT
port=$(shuf -i 20000-31000 -n 1)
zone=scale.example.com

axfr_ms() {
  local t0 t1
  t0=$(date +%s%N)
  taskset -c 1 kdig @127.0.0.1 -p "$port" +timeout=30 AXFR "$zone" +noall +stats 2>&1 | grep -q "Received" || { echo "AXFR failed" >&2; exit 1; }
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000 ))
}

echo "| members (clusters of 5) | records | server | start to first answer | RSS then | AXFR |"
echo "|---|---|---|---|---|---|"
for n in ${levels//,/ }; do
  dir=$tmp/z$n
  PORT=$port "$src/tests/bench/scale_zone.sh" "$dir" $((n / 5)) 5
  printf 'transfer:\n  allow:\n    - { address: 127.0.0.0/8 }\n' >> "$dir/zones/scale.yaml"
  "$build/dnsd" check -c "$dir/dnsd.yaml" | grep -v '^;' > "$dir/bench.zone"
  "$src/tests/bench/knot_conf.sh" "$dir" "$port" "$zone" transfer
  records=$(grep -c . "$dir/bench.zone")
  for s in dnsd knot; do
    best_t=999 best_rss=0 times=()
    for _ in $(seq "$rounds"); do
      rm -rf "$dir/state" "$dir/knot"/*.mdb "$dir/knot"/*/ 2>/dev/null || true
      if [ "$s" = dnsd ]; then first_answer "$port" "$zone" "$tmp/run.log" taskset -c 0 "$build/dnsd" run -c "$dir/dnsd.yaml"
      else first_answer "$port" "$zone" "$tmp/run.log" taskset -c 0 knotd -c "$dir/knot.conf"; fi
      if (( $(echo "$t < $best_t" | bc) )); then best_t=$t; best_rss=$rss; fi
      times+=("$(axfr_ms)")
      stop_server
    done
    axfr=$(printf '%s\n' "${times[@]}" | median)
    printf '| %d | %d | %s | %.3f s | %.1f MiB | %.1f ms |\n' "$n" "$records" "$s" "$best_t" "$(echo "$best_rss / 1024" | bc -l)" "$(echo "$axfr / 1000" | bc -l)"
  done
done
