#!/usr/bin/env bash
# dnsd beside Knot DNS, NSD and a raw recvmmsg/sendmmsg reflector (the kernel's floor), one zone, one
# query mix, one run: answers per second, lost queries and server CPU microseconds per answered query
# (utime + stime of every process of the server, from /proc, before and after), over UDP and TCP.
# Each server has one worker and is pinned to CPU 0; dnsperf runs on CPU 1. Every round measures every
# server, in an order rotated by one each round; the table gives medians with min and max.
# Then: zero lost queries while dnsd reloads its config 100 times under load, and how soon a
# registration is in the answers. Not part of `make test` (`make bench` runs it).
# Usage: tests/bench/compare.sh [build dir] [seconds per measurement] [rounds]
# With DNSD_BASELINE=/path/to/another/dnsd, that binary is measured too (as "baseline", same zone, same
# rotation): a change compared with the build before it, in the same run on the same host.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
secs=${2:-5}
rounds=${3:-5}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
hz=$(getconf CLK_TCK)
declare -A port=([dnsd]=25401 [knot]=25402 [nsd]=25403 [reflector]=25404 [baseline]=25405)
baseline=${DNSD_BASELINE:-}
zone=bench.example.com

# The zone (4 clusters, one of 40 members) and the query mix: tests/bench/bench_zone.sh.
"$src/tests/bench/bench_zone.sh" "$tmp" "$zone"
cat > "$tmp/dnsd.yaml" <<Y
listen: ["127.0.0.1:${port[dnsd]}"]
zones: ["zones/*.yaml"]
state_dir: state
workers: 1
control: { listen: "127.0.0.1:25409", token_file: token }
Y
echo bench-token > "$tmp/token"
cat > "$tmp/baseline.yaml" <<Y
listen: ["127.0.0.1:${port[baseline]}"]
zones: ["zones/*.yaml"]
state_dir: state-baseline
workers: 1
Y
# The same records for Knot and NSD, as dnsd prints them.
"$build/dnsd" check -c "$tmp/dnsd.yaml" | grep -v '^;' > "$tmp/bench.zone"

"$src/tests/bench/knot_conf.sh" "$tmp" "${port[knot]}" "$zone"
cat > "$tmp/nsd.conf" <<N
server:
    ip-address: 127.0.0.1@${port[nsd]}
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "$tmp"
    pidfile: "$tmp/nsd.pid"
    database: ""
    xfrdfile: "$tmp/xfrd.state"
    zonelistfile: "$tmp/zone.list"
    logfile: "$tmp/nsd.log"
    verbosity: 0
    rrl-ratelimit: 0        # Debian's NSD limits 200 responses/s per source by default: off, like the others
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: $zone
    zonefile: bench.zone
N

start() {  # start NAME COMMAND...: in its own session, pinned to CPU 0
  setsid taskset -c 0 "${@:2}" > "$tmp/$1.log" 2>&1 &
  pids+=($!)
  eval "sid_$1=$!"
}
start dnsd "$build/dnsd" run -c "$tmp/dnsd.yaml"
start knot knotd -c "$tmp/knot.conf"
start nsd nsd -d -c "$tmp/nsd.conf"
servers=(dnsd knot nsd reflector)
if [ -n "$baseline" ]; then
  start baseline "$baseline" run -c "$tmp/baseline.yaml"
  servers=(dnsd baseline knot nsd reflector)
fi
for s in "${servers[@]}"; do
  [ "$s" = reflector ] && continue
  for _ in $(seq 100); do dig @127.0.0.1 -p "${port[$s]}" +time=1 +tries=1 "$zone" SOA 2>/dev/null | grep -q NOERROR && break; sleep 0.1; done
done
# The reflector's replies are as large as dnsd's average answer to the mix.
size=$(while read -r name type; do dig @127.0.0.1 -p "${port[dnsd]}" +noedns "$name" "$type" | awk '/MSG SIZE/ {print $NF}'; done < "$tmp/queries" |
       awk '{s += $1; n++} END {printf "%d", s / n}')
start reflector "$build/tests/bench_reflector" 127.0.0.1 "${port[reflector]}" "$size"
sleep 0.3

session_ticks() {  # CPU ticks (utime + stime) of every process in session $1
  local total=0 f
  for f in /proc/[0-9]*/stat; do
    local line; line=$(<"$f") 2>/dev/null || continue
    # The fields after the command name (which may hold spaces and parentheses): state is the first.
    local r; read -r -a r <<< "${line##*) }"
    [ "${r[3]}" = "$1" ] && total=$((total + r[11] + r[12]))
  done
  echo "$total"
}

measure() {  # measure SERVER udp|tcp -> "answers/s lost us/answer"
  local s=$1 mode=$2 sid before after out
  sid=$(eval echo "\$sid_$s")
  before=$(session_ticks "$sid")
  out=$(taskset -c 1 dnsperf -s 127.0.0.1 -p "${port[$s]}" -d "$tmp/queries" -l "$secs" -c 8 -q 200 \
        $([ "$mode" = tcp ] && echo "-m tcp") 2>&1)
  after=$(session_ticks "$sid")
  awk -v t=$((after - before)) -v hz="$hz" '
    /Queries completed:/ {done = $3} /Queries lost:/ {lost = $3} /Queries per second:/ {qps = $4}
    END {printf "%.0f %d %.2f\n", qps, lost, (done ? t / hz * 1e6 / done : 0)}' <<< "$out"
}

declare -A results
for round in $(seq "$rounds"); do
  for i in "${!servers[@]}"; do
    s=${servers[$(((i + round) % ${#servers[@]}))]}
    for mode in udp tcp; do
      [ "$s" = reflector ] && [ "$mode" = tcp ] && continue
      results[$s,$mode]+="$(measure "$s" "$mode")"$'\n'
    done
  done
  echo "round $round of $rounds done" >&2
done

stat() {  # stat COLUMN <<< rows: "median (min–max)"
  awk -v c="$1" 'NF {print $c}' | sort -g | awk '{v[NR] = $1} END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf (v[NR] >= 100 ? "%.0f (%.0f–%.0f)" : "%.2f (%.2f–%.2f)"), m, v[1], v[NR]}'
}
echo
echo "Zone: 4 clusters (one of 40 members), $(wc -l < "$tmp/queries") query names; $rounds rounds of ${secs}s; reply size of the reflector: $size bytes"
echo
echo "| server | transport | answers/s, median (min–max) | lost | server CPU µs per answer, median (min–max) |"
echo "|---|---|---|---|---|"
for s in "${servers[@]}"; do
  for mode in udp tcp; do
    rows=${results[$s,$mode]:-}
    [ -z "$rows" ] && continue
    lost=$(awk '{s += $2} END {print s}' <<< "$rows")
    echo "| $s | $mode | $(stat 1 <<< "$rows") | $lost | $(stat 3 <<< "$rows") |"
  done
done

# 100 reloads under a steady load: nothing may be lost.
echo
reload_out=$( (taskset -c 1 dnsperf -s 127.0.0.1 -p "${port[dnsd]}" -d "$tmp/queries" -l 8 -Q 20000 -c 4 2>&1) &
  for _ in $(seq 100); do sleep 0.05; kill -HUP "$sid_dnsd"; done; wait)
echo "dnsd, 100 reloads during 8 s at 20,000 queries/s: $(awk '/Queries completed:/ {print $3 " answered"} /Queries lost:/ {print $3 " lost"}' <<< "$reload_out" | paste -sd ',' | sed 's/,/, /')," \
     "$(grep -c 'reloaded' "$tmp/dnsd.log") reloads logged"

# A registration is in the answers as soon as its 2xx arrives: PUT, then one query.
/usr/bin/python3 - "$tmp" "${port[dnsd]}" <<'PY'
import http.client, socket, struct, sys, time
tmp, port = sys.argv[1], int(sys.argv[2])
def query(name, qtype=33):
    q = struct.pack("!HHHHHH", 7, 0, 1, 0, 0, 0) + b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack("!HH", qtype, 1)
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(struct.pack("!H", len(q)) + q)
    n = struct.unpack("!H", s.recv(2))[0]; data = b""
    while len(data) < n: data += s.recv(n - len(data))
    s.close(); return data
latencies, visible = [], 0
for i in range(20):
    c = http.client.HTTPConnection("127.0.0.1", 25409)
    body = '{"host": "r%d.big.bench.example.com", "addresses": ["203.0.113.%d"]}' % (i, i + 1)
    t = time.perf_counter()
    c.request("PUT", "/v1/zones/bench.example.com/clusters/big/members/r%d" % i, body, {"Authorization": "Bearer bench-token"})
    r = c.getresponse(); r.read()
    latencies.append((time.perf_counter() - t) * 1000)
    label = b"r%d" % i
    visible += bytes([len(label)]) + label + b"\x03big" in query("_etcd-server-ssl-big._tcp.bench.example.com") and r.status // 100 == 2
latencies.sort()
print("registration: %d of 20 in the very next answer after the 2xx; PUT to 2xx (fsync included) median %.2f ms, max %.2f ms"
      % (visible, latencies[10], latencies[-1]))
PY
