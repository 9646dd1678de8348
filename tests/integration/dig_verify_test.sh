#!/usr/bin/env bash
# tests/dig-verify.sh against the real binary: passes on the zone being served, fails (naming the
# record) when the config says something else.
set -euo pipefail
source "$(dirname "$0")/serve_example.sh" "$1"

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
