#!/usr/bin/env bash
# Zone transfers out, dnsd beside Knot DNS serving the same records (`dnsd check` output): the AXFR of a
# zone with 10,000 members (20 clusters of 500, plus the compare.sh zone) — wall time per transfer and
# bytes, median of ROUNDS; then answers per second and lost queries while AXFRs run back to back
# (dnsperf at a fixed 20,000 queries/s over UDP for SECONDS, the compare.sh query mix), and without them.
# Each server has one worker and is pinned to CPU 0; kdig and dnsperf run on CPU 1.
# Not part of `make test`. Usage: tests/bench/transfer.sh [build dir] [seconds] [rounds]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/bench/lib.sh"
build=${1:-$src/build}
secs=${2:-8}
rounds=${3:-5}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
declare -A port=([dnsd]=25451 [knot]=25452)
zone=bench.example.com

"$src/tests/bench/bench_zone.sh" "$tmp" "$zone"
for c in $(seq 0 19); do
  echo "  - name: x$c"
  echo "    members:"
  for m in $(seq 1 500); do
    echo "      - { name: m$m, host: m$m.x$c.$zone, addresses: [10.$c.$((m / 250)).$((m % 250 + 1))] }"
  done
done >> "$tmp/zones/bench.yaml"
printf 'transfer:\n  allow:\n    - { address: 127.0.0.0/8 }\n' >> "$tmp/zones/bench.yaml"
cat > "$tmp/dnsd.yaml" <<Y
listen: ["127.0.0.1:${port[dnsd]}"]
zones: ["zones/*.yaml"]
state_dir: state
workers: 1
Y
"$build/dnsd" check -c "$tmp/dnsd.yaml" | grep -v '^;' > "$tmp/bench.zone"
"$src/tests/bench/knot_conf.sh" "$tmp" "${port[knot]}" "$zone" transfer

start() {  # start NAME COMMAND...: pinned to CPU 0
  taskset -c 0 "${@:2}" > "$tmp/$1.log" 2>&1 &
  pids+=($!)
}
start dnsd "$build/dnsd" run -c "$tmp/dnsd.yaml"
start knot knotd -c "$tmp/knot.conf"
for s in dnsd knot; do
  for _ in $(seq 200); do dig @127.0.0.1 -p "${port[$s]}" +time=1 +tries=1 "$zone" SOA 2>/dev/null | grep -q NOERROR && break; sleep 0.1; done
done

axfr() {  # axfr SERVER -> "milliseconds bytes records messages"
  local t0 t1 out
  t0=$(date +%s%N)
  out=$(taskset -c 1 kdig @127.0.0.1 -p "${port[$1]}" +timeout=30 AXFR "$zone" +noall +stats 2>&1)
  t1=$(date +%s%N)
  # ";; Received 1258660 B (20 messages, 30154 records)"
  awk -v ms="$(( (t1 - t0) / 1000 ))" '/Received/ {gsub(/[(,]/, " "); print ms / 1000, $3, $7, $5}' <<< "$out"
}

declare -A times info
for _ in $(seq "$rounds"); do
  for s in dnsd knot; do
    read -r ms bytes records messages <<< "$(axfr "$s")"
    times[$s]+="$ms"$'\n'
    info[$s]="$bytes $records $messages"
  done
done

load() {  # load SERVER with|without -> "answered lost axfrs"
  local s=$1 out n=0 loop=
  if [ "$2" = with ]; then
    ( while :; do taskset -c 1 kdig @127.0.0.1 -p "${port[$s]}" +timeout=30 AXFR "$zone" > /dev/null 2>&1; echo x; done ) > "$tmp/axfrs" &
    loop=$!
  fi
  out=$(taskset -c 1 dnsperf -s 127.0.0.1 -p "${port[$s]}" -d "$tmp/queries" -l "$secs" -Q 20000 -c 4 2>&1)
  if [ -n "$loop" ]; then
    kill "$loop" 2>/dev/null; wait "$loop" 2>/dev/null || true
    n=$(wc -l < "$tmp/axfrs")
  fi
  awk -v n="$n" '/Queries completed:/ {done = $3} /Queries lost:/ {lost = $3} END {print done, lost, n}' <<< "$out"
}

echo
echo "Zone: $(grep -c . "$tmp/bench.zone") records (10,043 members in 24 clusters); AXFR by kdig over loopback, $rounds rounds"
echo
echo "| server | AXFR wall time, median ms | bytes | records | messages |"
echo "|---|---|---|---|---|"
for s in dnsd knot; do
  read -r bytes records messages <<< "${info[$s]}"
  echo "| $s | $(median <<< "${times[$s]}") | $bytes | $records | $messages |"
done
echo
echo "| server | AXFRs back to back | queries answered in ${secs}s at 20,000/s | lost | AXFRs done |"
echo "|---|---|---|---|---|"
for s in dnsd knot; do
  for mode in without with; do
    read -r done lost n <<< "$(load "$s" "$mode")"
    echo "| $s | $mode | $done | $lost | $n |"
  done
done
