#!/usr/bin/env bash
# What a DNS UPDATE costs as the zone grows (issue: the cost of a change depends on the change, not on
# the zone): for each level of members (clusters of 5, tests/bench/scale_zone.sh, UPDATE allowed with
# a TSIG key), dnsd is started, one UPDATE warms it (the first one after a start builds the zone's
# index, an O(zone) step), then one BIND nsupdate session sends UPDATES updates one after the other
# (each adds a TXT record at a name of its own and waits for the answer). Prints the time per update;
# the first row (one member) is nsupdate's own cost per message, the floor. With TRANSFERS=1 the zone
# allows transfers (each change also goes into the IXFR journal). Not part of `make test`.
# Usage: tests/bench/update_scale.sh [build dir] [levels, e.g. 1,1000,10000] [updates]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
levels=${2:-1,100,1000,10000}
updates=${3:-50}
tmp=$(mktemp -d)
trap 'pkill -P $$ 2>/dev/null || true; rm -rf "$tmp"' EXIT
port=$(shuf -i 20000-31000 -n 1)
zone=scale.example.com
secret=c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=

nsu() { nsupdate -y "hmac-sha256:ddns-key:$secret"; }
echo "| members (clusters of 5) | per UPDATE (mean of $updates, nsupdate included) |"
echo "|---|---|"
for n in ${levels//,/ }; do
  dir=$tmp/$n
  clusters=$(( (n + 4) / 5 )); members=$(( n < 5 ? n : 5 ))
  PORT=$port "$src/tests/bench/scale_zone.sh" "$dir" "$clusters" "$members" > /dev/null
  printf 'key "ddns-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' "$secret" > "$dir/ddns-key.key"
  printf 'tsig_keys:\n  - { name: ddns-key, algorithm: hmac-sha256, secret_file: ddns-key.key }\n' >> "$dir/dnsd.yaml"
  printf 'update: { keys: [ddns-key] }\n' >> "$dir/zones/scale.yaml"
  [ "${TRANSFERS:-0}" = 1 ] && printf 'transfer:\n  allow:\n    - { address: 127.0.0.0/8 }\n' >> "$dir/zones/scale.yaml"
  (cd "$dir" && exec taskset -c 0 "$build/dnsd" run -c dnsd.yaml 2> run.log) &
  for _ in $(seq 100); do dig @127.0.0.1 -p "$port" +time=1 +tries=1 +short SOA "$zone" | grep -q . && break; sleep 0.1; done
  printf 'server 127.0.0.1 %s\nzone %s\nupdate add warm.%s 60 TXT "w"\nsend\n' "$port" "$zone" "$zone" | nsu
  cmds=$( { echo "server 127.0.0.1 $port"; echo "zone $zone"
            for i in $(seq "$updates"); do echo "update add u$i.$zone 60 TXT \"x$i\""; echo send; done; } )
  t0=$(date +%s%N)
  echo "$cmds" | taskset -c 1 nsupdate -y "hmac-sha256:ddns-key:$secret"
  t1=$(date +%s%N)
  dig @127.0.0.1 -p "$port" +short TXT "u$updates.$zone" | grep -q "x$updates" || { echo "the last update is not served" >&2; exit 1; }
  printf '| %s | %.2f ms |\n' "$(printf "%'d" "$n")" "$(echo "($t1 - $t0) / 1000000 / $updates" | bc -l)"
  pkill -P $$ -f "dnsd run" 2>/dev/null || true
  wait 2>/dev/null || true
done
