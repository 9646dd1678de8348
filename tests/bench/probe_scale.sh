#!/usr/bin/env bash
# Probe scale: 10,000 members (100 clusters of 100) probed every second against a local HTTP responder
# standing in for etcd's /health. Prints the control thread's CPU and dnsd's DNS answers per second with
# the probes running, beside the same run without probes. dnsd (one worker) and its control thread on
# CPU 0; dnsperf and the responder on CPU 1. Not part of `make test`.
# With https, the same over TLS (a responder with a self-signed certificate; the probes verify it
# against server_name). Run it with builds before and after a change to compare them.
# With DNS=0 no queries are sent (probes alone, the responder with CPU 1 to itself); with BASELINE=0
# the run without probes is left out (to profile a long run).
# Usage: [DNS=0] [BASELINE=0] tests/bench/probe_scale.sh [build dir] [seconds] [http|https|both]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
secs=${2:-10}
schemes=${3:-http}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
port=25354 http=25380 https=25382 hz=$(getconf CLK_TCK)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"  # keep-alive: one connection per member, held by the responder

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
  -days 1 -subj /CN=probe.scale.example.com -addext subjectAltName=DNS:probe.scale.example.com 2>/dev/null
taskset -c 1 "$build/tests/bench_http_responder" 127.0.0.1 $http &
pids+=($!)
taskset -c 1 "$build/tests/bench_http_responder" 127.0.0.1 $https "$tmp/cert.pem" "$tmp/key.pem" &
pids+=($!)

metric_sum() {  # the sum of a metric's samples on the control endpoint
  { curl -s -m 10 127.0.0.1:25381/metrics || true; } | awk -v p="$1" 'index($0, p) == 1 {s += $NF} END {print s + 0}'
}

make_zone() {  # $1 = health block or "", $2 = the members' client port
  {
    echo "zone: scale.example.com"
    echo "soa: { mname: ns1.scale.example.com, rname: h.scale.example.com }"
    echo "ns: [ns1.scale.example.com]"
    printf 'records: |\n  ns1 IN A 127.0.0.1\nclusters:\n'
    for c in $(seq -w 0 99); do
      echo "  - name: c$c"
      [ -n "$1" ] && echo "    $1"
      echo "    client_port: $2"
      echo "    members:"
      for m in $(seq -w 0 99); do echo "      - { name: m$m, host: m$m.c$c.scale.example.com, addresses: [127.0.0.1] }"; done
    done
  } > "$tmp/zones/scale.yaml"
}

run() {  # $1 = label, $2 = health block, $3 = client port
  mkdir -p "$tmp/zones"
  make_zone "$2" "${3:-$http}"
  printf 'listen: ["127.0.0.1:%s"]\nzones: ["zones/*.yaml"]\nstate_dir: state\nworkers: 1\ncontrol: { listen: "127.0.0.1:25381" }\n' $port > "$tmp/dnsd.yaml"
  taskset -c 0 "$build/dnsd" run -c "$tmp/dnsd.yaml" 2> "$tmp/log" &
  local pid=$!
  pids+=($pid)
  for _ in $(seq 200); do dig @127.0.0.1 -p $port +time=1 +tries=1 scale.example.com SOA >/dev/null 2>&1 && break; sleep 0.05; done
  if [ -n "$2" ]; then  # every member healthy (over https: 10,000 first handshakes) and settled, before measuring
    for _ in $(seq 60); do [ "$(metric_sum dnsd_cluster_members_healthy)" -ge 10000 ] && break; sleep 0.5; done
    sleep 3
  fi
  for c in $(seq -w 0 99); do echo "_etcd-client-c$c._tcp.scale.example.com SRV"; echo "m01.c$c.scale.example.com A"; done > "$tmp/queries"
  local before; before=$(awk '{print $14 + $15}' "/proc/$pid/task/$pid/stat")
  local results_before; results_before=$(metric_sum dnsd_probe_results_total)
  if [ "${DNS:-1}" = 0 ]; then
    out="" && sleep "$secs"  # probes alone: the responder has CPU 1 to itself
  else
    out=$(taskset -c 1 dnsperf -s 127.0.0.1 -p $port -d "$tmp/queries" -l "$secs" -c 8 -q 200 2>&1) || { echo "dnsperf failed: $out" >&2; }
  fi
  local after; after=$(awk '{print $14 + $15}' "/proc/$pid/task/$pid/stat")
  local results_after; results_after=$(metric_sum dnsd_probe_results_total)
  local healthy; healthy=$(metric_sum dnsd_cluster_members_healthy)
  local rss; rss=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status")
  kill $pid; wait $pid 2>/dev/null || true
  local qps; qps=$(awk '/Queries per second:/ {print $4}' <<<"$out")
  local lost; lost=$(awk '/Queries lost:/ {print $3}' <<<"$out")
  printf '| %s | %.0f | %s | %.1f%% | %.0f | %.1f µs | %s | %s MiB |\n' "$1" "$qps" "$lost" \
    "$(awk -v t=$((after - before)) -v hz="$hz" -v s="$secs" 'BEGIN {print t / hz / s * 100}')" \
    "$(awk -v a="$results_after" -v b="$results_before" -v s="$secs" 'BEGIN {print (a - b) / s}')" \
    "$(awk -v t=$((after - before)) -v hz="$hz" -v a="$results_after" -v b="$results_before" 'BEGIN {print (a > b ? t / hz / (a - b) * 1e6 : 0)}')" \
    "$healthy" "$rss"
}

printf '| run | DNS answers/s | lost | control thread CPU | probes/s | CPU per probe | healthy members | RSS |\n|---|---|---|---|---|---|---|---|\n'
[ "${BASELINE:-1}" = 0 ] || run "no probes" ""
if [ "$schemes" != https ]; then run "10,000 members probed every 1s over http" "health: { interval: 1s, timeout: 900ms }"; fi
if [ "$schemes" != http ]; then
  run "10,000 members probed every 1s over https" \
    "health: { scheme: https, ca_file: $tmp/cert.pem, server_name: probe.scale.example.com, interval: 1s, timeout: 900ms }" $https
fi
