#!/usr/bin/env bash
# Writes DIR/knot.conf: Knot DNS with one worker of each kind on 127.0.0.1@PORT, serving ZONE from
# DIR/bench.zone (the records `dnsd check` prints), errors logged only; with "transfer", AXFR allowed
# from 127.0.0.0/8. Used by compare.sh and transfer.sh.
# Usage: knot_conf.sh DIR PORT ZONE [transfer]
set -euo pipefail
dir=$1 port=$2 zone=$3
mkdir -p "$dir/knot"
{
  cat <<K
server:
    listen: 127.0.0.1@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    rundir: $dir/knot
    user: root:root
database:
    storage: $dir/knot
log:
  - target: stderr
    any: error
K
  if [ "${4:-}" = transfer ]; then
    printf 'acl:\n  - id: local\n    address: 127.0.0.0/8\n    action: transfer\n'
  fi
  cat <<K
zone:
  - domain: $zone
    file: $dir/bench.zone
    semantic-checks: off
K
  [ "${4:-}" = transfer ] && echo "    acl: local"
  true
} > "$dir/knot.conf"
