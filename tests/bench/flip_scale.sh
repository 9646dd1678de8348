#!/usr/bin/env bash
# What a health flip costs as the zone grows: for each level of members (clusters of 5, static), plus
# one probed cluster of 3 members whose /health responders (tests/bench/http_responder.cpp) this
# script stops and starts, FLIPS flips (a member down, then up again). Per level: the time from the
# probe result that flips a member to its snapshot being published (dnsd's own
# dnsd_snapshot_publish_seconds, median and max) and from stopping or starting the responder to
# the first answer that shows it (UDP polled every millisecond: detection, interval 100 ms and
# fall/rise 1, included). Not part of `make test`.
# Usage: tests/bench/flip_scale.sh [build dir] [levels, e.g. 100,1000,10000] [flips]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/bench/lib.sh"
build=${1:-$src/build}
levels=${2:-100,1000,10000}
flips=${3:-10}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
port=25464 control=25465 first_client=25466
zone=scale.example.com

responder() {  # responder N: starts member pN's /health, its pid in responders[N]
  "$build/tests/bench_http_responder" 127.0.0.1 $((first_client + $1)) &
  responders[$1]=$!
  pids+=($!)
}
ms_now() { date +%s%3N; }
client_set() {  # the probed cluster's client SRV records, one line ("" while dnsd does not answer)
  dig @127.0.0.1 -p $port +time=1 +tries=1 +short SRV "_etcd-client-p._tcp.$zone" 2>/dev/null | grep -E '^[0-9]' | sort | tr '\n' ' ' || true
}
publish_ms() {
  curl -s -m 5 127.0.0.1:$control/metrics | awk '/^dnsd_snapshot_publish_seconds/ {printf "%.3f", $NF * 1000}'
}
until_set_changes() {  # until_set_changes BEFORE: polls until the client set differs; prints ms waited
  local t0; t0=$(ms_now)
  while [ "$(client_set)" = "$1" ]; do sleep 0.001; done
  echo $(( $(ms_now) - t0 ))
}
stats() {  # "median / max" of the numbers on stdin
  local values; values=$(cat)
  printf '%s / %.2f' "$(median %.2f <<< "$values")" "$(sort -g <<< "$values" | tail -1)"
}

echo "| members (clusters of 5) | flip to published, median / max | stop or start to visible, median / max |"
echo "|---|---|---|"
for n in ${levels//,/ }; do
  dir=$tmp/z$n
  PORT=$port "$src/tests/bench/scale_zone.sh" "$dir" $((n / 5)) 5
  printf 'control: { listen: "127.0.0.1:%d" }\n' $control >> "$dir/dnsd.yaml"
  {
    echo "  - name: p"
    echo "    health: { interval: 100ms, timeout: 90ms, rise: 1, fall: 1 }"
    echo "    members:"
    for m in 0 1 2; do
      echo "      - { name: p$m, host: p$m.$zone, addresses: [127.0.0.1], client_port: $((first_client + m)) }"
    done
  } >> "$dir/zones/scale.yaml"
  declare -A responders=()
  for m in 0 1 2; do responder $m; done
  "$build/dnsd" run -c "$dir/dnsd.yaml" 2> "$dir/log" &
  dnsd_pid=$!
  pids+=($dnsd_pid)
  for _ in $(seq 300); do [ "$(client_set | wc -w)" -ge 12 ] && break; sleep 0.05; done  # 3 SRV records, 4 words each
  [ "$(client_set | wc -w)" -ge 12 ] || { echo "the probed cluster never had 3 healthy members" >&2; cat "$dir/log" >&2; exit 1; }
  published=() visible=()
  for _ in $(seq "$flips"); do
    before=$(client_set)
    kill "${responders[0]}"; wait "${responders[0]}" 2>/dev/null || true
    visible+=("$(until_set_changes "$before")")
    published+=("$(publish_ms)")
    before=$(client_set)
    responder 0
    visible+=("$(until_set_changes "$before")")
    published+=("$(publish_ms)")
  done
  printf '| %d | %s ms | %s ms |\n' "$n" "$(printf '%s\n' "${published[@]}" | stats)" "$(printf '%s\n' "${visible[@]}" | stats)"
  kill "$dnsd_pid"; wait "$dnsd_pid" 2>/dev/null || true
  for m in 0 1 2; do kill "${responders[$m]}" 2>/dev/null || true; wait "${responders[$m]}" 2>/dev/null || true; done
done
