#!/usr/bin/env bash
# tests/dig-verify.sh against the real binary: passes on the zone being served, fails (naming the
# record) when the config says something else.
set -euo pipefail
dnsd=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
port=$((20000 + RANDOM % 12000))
mkdir -p "$tmp/zones"
cp "$src/zones/lab.example.com.yaml" "$tmp/zones/"
printf 'listen: ["127.0.0.1:%s"]\nzones: ["zones/*.yaml"]\nstate_dir: state\n' "$port" > "$tmp/dnsd.yaml"
"$dnsd" run -c "$tmp/dnsd.yaml" 2> "$tmp/log" &
pid=$!
for _ in $(seq 100); do dig @127.0.0.1 -p "$port" +time=1 +tries=1 lab.example.com SOA >/dev/null 2>&1 && break; sleep 0.05; done

pass=0 failed=0
DNSD=$dnsd "$src/tests/dig-verify.sh" 127.0.0.1 "$port" "$src/zones/lab.example.com.yaml" > "$tmp/good" \
  && grep -q "dig-verify: 17/17 checks passed" "$tmp/good" && pass=$((pass + 1)) || { failed=$((failed + 1)); cat "$tmp/good"; }

sed 's/192.0.2.22/192.0.2.99/' "$src/zones/lab.example.com.yaml" > "$tmp/changed.yaml"
if DNSD=$dnsd "$src/tests/dig-verify.sh" 127.0.0.1 "$port" "$tmp/changed.yaml" > "$tmp/bad"; then
  failed=$((failed + 1)); echo "dig-verify passed although an address differs"; cat "$tmp/bad"
elif grep -q "FAIL: A etcd-2.c1.lab.example.com.: got \[192.0.2.22\], want \[192.0.2.99\]" "$tmp/bad"; then
  pass=$((pass + 1))
else
  failed=$((failed + 1)); cat "$tmp/bad"
fi
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
