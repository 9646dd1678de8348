#!/usr/bin/env bash
# Writes a zone of many clusters into DIR (DIR/dnsd.yaml, DIR/zones/scale.yaml): CLUSTERS clusters of
# MEMBERS members each, every member with one IPv4 address, TLS peers; the shape of a platform that
# bootstraps many etcd clusters from one zone. Used by startup_profile.sh.
# Usage: scale_zone.sh DIR [CLUSTERS] [MEMBERS]
set -euo pipefail
dir=$1
clusters=${2:-2000}
members=${3:-5}
zone=scale.example.com
mkdir -p "$dir/zones"
printf 'listen: ["127.0.0.1:%s"]\nzones: ["zones/*.yaml"]\nstate_dir: state\nworkers: 1\n' "${PORT:-21053}" > "$dir/dnsd.yaml"
awk -v clusters="$clusters" -v members="$members" -v zone="$zone" 'BEGIN {
  print "zone: " zone
  print "soa: { mname: ns1." zone ", rname: hostmaster." zone " }"
  print "ns: [ns1." zone "]"
  print "records: |\n  ns1 IN A 192.0.2.53"
  print "clusters:"
  n = 0
  for (c = 1; c <= clusters; c++) {
    print "  - name: c" c
    print "    members:"
    for (m = 1; m <= members; m++) {
      n++
      printf "      - { name: e%d, host: e%d.c%d.%s, addresses: [10.%d.%d.%d] }\n", m, m, c, zone, int(n / 65536) % 256, int(n / 256) % 256, n % 256
    }
  }
}' > "$dir/zones/scale.yaml"
