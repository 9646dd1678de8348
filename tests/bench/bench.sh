#!/usr/bin/env bash
# Answers per second and server CPU per answered query for dnsd, measured with dnsperf on loopback.
# Not part of `make test`. Usage: tests/bench/bench.sh [path/to/dnsd] [seconds] [rounds]
# dnsd is pinned to CPU 0 with one worker, dnsperf to CPU 1; CPU time is read from /proc before and after.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
dnsd=${1:-$src/build/dnsd}
secs=${2:-10}
rounds=${3:-3}
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
port=25353
hz=$(getconf CLK_TCK)

sed -e "s|state_dir: .*|state_dir: $tmp/state|" -e "s|\.\./zones|$src/zones|" -e '/^control:/d' \
    -e 's|^workers: .*|workers: 1|' "$src/conf/dnsd.yaml" > "$tmp/dnsd.yaml"
# The query mix etcd and its clients send: server/client SRV sets, member A and AAAA (NODATA), misses.
cat > "$tmp/queries" <<'Q'
_etcd-server-ssl-c1._tcp.lab.example.com SRV
_etcd-client-c1._tcp.lab.example.com SRV
_etcd-server._tcp.lab.example.com SRV
etcd-1.c1.lab.example.com A
etcd-2.c1.lab.example.com AAAA
infra0.lab.example.com AAAA
_etcd-server-ssl._tcp.lab.example.com SRV
nope.lab.example.com A
Q

taskset -c 0 "$dnsd" run -c "$tmp/dnsd.yaml" --listen "127.0.0.1:$port" 2> "$tmp/log" &
pid=$!
for _ in $(seq 100); do dig @127.0.0.1 -p $port +time=1 +tries=1 lab.example.com SOA >/dev/null 2>&1 && break; sleep 0.05; done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }

printf '| transport | round | answers/s | lost | server CPU us/answer |\n|---|---|---|---|---|\n'
for transport in udp tcp; do
  for round in $(seq "$rounds"); do
    before=$(cpu_ticks)
    mode=""; [ "$transport" = tcp ] && mode="-m tcp"
    out=$(taskset -c 1 dnsperf -s 127.0.0.1 -p $port -d "$tmp/queries" -l "$secs" -c 8 -q 200 $mode 2>&1)
    after=$(cpu_ticks)
    completed=$(awk '/Queries completed:/ {print $3}' <<<"$out")
    lost=$(awk '/Queries lost:/ {print $3}' <<<"$out")
    qps=$(awk '/Queries per second:/ {print $4}' <<<"$out")
    us=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$completed" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
    printf '| %s | %s | %.0f | %s | %s |\n' "$transport" "$round" "$qps" "$lost" "$us"
  done
done
