#!/usr/bin/env bash
# What a zone costs to hold, load and transfer as it grows, dnsd beside Knot DNS serving the same
# records (`dnsd check` output): for each level of members (clusters of 5, tests/bench/scale_zone.sh,
# transfers allowed from loopback), the time from exec to the first answer and the RSS then (best of
# ROUNDS, a fresh state_dir / Knot storage each time), and the wall time of one AXFR over TCP (median
# of ROUNDS, kdig). One worker each. What a change costs is put_scale.py's table (PUT to 2xx and to
# visible), what probing costs probe_scale.sh's. Not part of `make test`.
# Usage: tests/bench/scale.sh [build dir] [levels, e.g. 100,1000,10000] [rounds]
# With DNSD_BASELINE=/path/to/another/dnsd, that binary is measured too (as "baseline", in the same
# rotation): a change beside the build before it, in the same run.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/bench/lib.sh"
build=${1:-$src/build}
levels=${2:-100,1000,10000}
rounds=${3:-3}
baseline=${DNSD_BASELINE:-}
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

echo "| members (clusters of 5) | records | server | start to first answer: best (median) | RSS then | AXFR |"
echo "|---|---|---|---|---|---|"
for n in ${levels//,/ }; do
  dir=$tmp/z$n
  PORT=$port "$src/tests/bench/scale_zone.sh" "$dir" $((n / 5)) 5
  printf 'transfer:\n  allow:\n    - { address: 127.0.0.0/8 }\n' >> "$dir/zones/scale.yaml"
  "$build/dnsd" check -c "$dir/dnsd.yaml" | grep -v '^;' > "$dir/bench.zone"
  "$src/tests/bench/knot_conf.sh" "$dir" "$port" "$zone" transfer
  records=$(grep -c . "$dir/bench.zone")
  servers=(dnsd knot)
  [ -n "$baseline" ] && servers=(dnsd baseline knot)
  declare -A best_t=() best_rss=() starts=() axfrs=()
  for s in "${servers[@]}"; do best_t[$s]=999; best_rss[$s]=0; starts[$s]=""; axfrs[$s]=""; done
  for r in $(seq "$rounds"); do
    # Every server once a round, in an order rotated by one each round: a noisy minute costs each alike.
    for k in $(seq 0 $((${#servers[@]} - 1))); do
      s=${servers[$(( (k + r) % ${#servers[@]} ))]}
      rm -rf "$dir/state" "$dir/knot"/*.mdb "$dir/knot"/*/ 2>/dev/null || true
      case $s in
        dnsd) first_answer "$port" "$zone" "$tmp/run.log" taskset -c 0 "$build/dnsd" run -c "$dir/dnsd.yaml" ;;
        baseline) first_answer "$port" "$zone" "$tmp/run.log" taskset -c 0 "$baseline" run -c "$dir/dnsd.yaml" ;;
        knot) first_answer "$port" "$zone" "$tmp/run.log" taskset -c 0 knotd -c "$dir/knot.conf" ;;
      esac
      if (( $(echo "$t < ${best_t[$s]}" | bc) )); then best_t[$s]=$t; best_rss[$s]=$rss; fi
      starts[$s]+="$t "
      axfrs[$s]+="$(axfr_ms) "
      stop_server
    done
  done
  for s in "${servers[@]}"; do
    start_median=$(printf '%s\n' ${starts[$s]} | median %.4f)
    axfr=$(printf '%s\n' ${axfrs[$s]} | median)
    printf '| %d | %d | %s | %.3f s (%.3f) | %.1f MiB | %.1f ms |\n' "$n" "$records" "$s" "${best_t[$s]}" "$start_median" \
      "$(echo "${best_rss[$s]} / 1024" | bc -l)" "$(echo "$axfr / 1000" | bc -l)"
  done
done
