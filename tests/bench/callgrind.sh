#!/usr/bin/env bash
# Instructions per answer on the hot path, deterministically: bench_query_cost answers the benchmark
# query mix N times through query_process() under callgrind; prints instructions per query in all and
# the functions they go to. Not part of `make test`.
# Usage: tests/bench/callgrind.sh [build dir] [queries]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
n=${2:-200000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$src/tests/bench/bench_zone.sh" "$tmp"
printf 'listen: ["127.0.0.1:1"]\nzones: ["zones/*.yaml"]\nstate_dir: state\n' > "$tmp/dnsd.yaml"
# Start-up (config, compile) is measured once with 0 queries and subtracted.
count() {
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1" "$build/tests/bench_query_cost" "$tmp/dnsd.yaml" "$tmp/queries" "$1" \
    2>&1 | awk '/refs:/ {gsub(",", "", $NF); print $NF}'
}
base=$(count 0)
total=$(count "$n")
echo "instructions per answer: $(( (total - base) / n )) (query mix of $(wc -l < "$tmp/queries") names, $n queries)"
callgrind_annotate --inclusive=no "$tmp/cg.$n" 2>/dev/null | awk -v n="$n" '/dnsd::|memcpy|memcmp|memmove/ && $1 ~ /^[0-9,]+$/ {
  count = $1; gsub(",", "", count)
  if (count / n < 2) next
  f = $0; sub(/^[^:]*:/, "", f); sub(/\(unsigned.*|\(std::.*|\(dnsd::.*|\(char.*| \[.*/, "", f)
  printf "  %6.0f  %s\n", count / n, substr(f, 1, 90) }' | head -12
