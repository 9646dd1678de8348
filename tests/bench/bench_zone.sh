#!/usr/bin/env bash
# Writes the benchmark zone and query mix into DIR: DIR/zones/bench.yaml (three small clusters, one of
# 40 members with registration on, a few ordinary records) and DIR/queries (dnsperf format: the SRV
# sets, member A, AAAA NODATA, a miss, the SOA). Used by compare.sh and callgrind.sh.
# Usage: bench_zone.sh DIR [ZONE]
set -euo pipefail
tmp=$1
zone=${2:-bench.example.com}
mkdir -p "$tmp/zones"
{
  echo "zone: $zone"
  echo "soa: { mname: ns1.$zone, rname: hostmaster.$zone }"
  echo "ns: [ns1.$zone]"
  printf 'records: |\n  ns1 IN A 192.0.2.53\n  www IN A 192.0.2.80\n  @ IN TXT "etcd discovery"\nclusters:\n'
  for c in c1 c2 c3; do
    echo "  - name: $c"
    echo "    members:"
    for m in 1 2 3; do echo "      - { name: e$m, host: etcd-$m.$c.$zone, addresses: [192.0.2.$m] }"; done
  done
  echo "  - name: big"
  echo "    registration: true"
  echo "    members:"
  for m in $(seq 1 40); do echo "      - { name: e$m, host: etcd-$m.big.$zone, addresses: [198.51.100.$m] }"; done
} > "$tmp/zones/bench.yaml"
{
  for c in c1 c2 c3; do
    echo "_etcd-server-ssl-$c._tcp.$zone SRV"
    echo "_etcd-client-$c._tcp.$zone SRV"
    echo "etcd-1.$c.$zone A"
    echo "etcd-2.$c.$zone AAAA"
  done
  echo "_etcd-server-ssl-big._tcp.$zone SRV"
  echo "etcd-17.big.$zone A"
  echo "www.$zone A"
  echo "nope.$zone A"
  echo "$zone SOA"
} > "$tmp/queries"

