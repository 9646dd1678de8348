#!/usr/bin/env bash
# Verifies a live dnsd (or any server for the zone) against a zone YAML, the way an operator would:
# every SRV set, every target's A/AAAA, the SOA, and that the targets' addresses match the config.
# The expected records come from `dnsd check` on the zone file, so this script needs no YAML parser.
#
# usage: tests/dig-verify.sh SERVER PORT ZONE_YAML        (DNSD=path/to/dnsd if it is not on PATH)
# prints one line per failure and a one-line summary; exit status 0 only when everything matched.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 SERVER PORT ZONE_YAML" >&2; exit 2; }
server=$1 port=$2 zone_file=$3
dnsd=${DNSD:-$(command -v dnsd || echo "$(dirname "$0")/../build/dnsd")}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/zones"
cp "$zone_file" "$tmp/zones/zone.yaml"
printf 'listen: ["127.0.0.1:1"]\nzones: ["zones/*.yaml"]\nstate_dir: state\n' > "$tmp/dnsd.yaml"
if ! "$dnsd" check -c "$tmp/dnsd.yaml" > "$tmp/expected" 2> "$tmp/check.err"; then
  cat "$tmp/check.err" >&2
  echo "dig-verify: the zone file does not pass dnsd check"
  exit 1
fi
zone=$(awk '$4 == "SOA" {print $1; exit}' "$tmp/expected")

checks=0 failures=0
fail() { failures=$((failures + 1)); echo "FAIL: $*"; }
q() { dig @"$server" -p "$port" +time=2 +tries=2 "$@"; }
lower() { tr 'A-Z' 'a-z'; }

# The SOA: authoritative, with the configured names (the serial is the server's own).
checks=$((checks + 1))
soa_reply=$(q SOA "$zone")
want_soa=$(awk '$4 == "SOA" {print $5, $6; exit}' "$tmp/expected")
grep -q 'flags:.* aa' <<<"$soa_reply" || fail "SOA $zone: answer is not authoritative"
got_soa=$(q +short SOA "$zone" | awk '{print $1, $2}')
[ "$got_soa" = "$want_soa" ] || fail "SOA $zone: got '$got_soa', want '$want_soa'"

# Every SRV set, compared as a set of "priority weight port target" lines.
for owner in $(awk '$4 == "SRV" {print $1}' "$tmp/expected" | sort -u); do
  checks=$((checks + 1))
  want=$(awk -v o="$owner" '$1 == o && $4 == "SRV" {print $5, $6, $7, $8}' "$tmp/expected" | lower | sort)
  got=$(q +short SRV "$owner" | lower | sort)
  [ "$got" = "$want" ] || fail "SRV $owner: got [$(echo $got)], want [$(echo $want)]"
done

# Every SRV target inside the zone: its addresses exactly as configured (A and AAAA).
for target in $(awk '$4 == "SRV" {print $8}' "$tmp/expected" | sort -u); do
  for type in A AAAA; do
    want=$(awk -v t="$target" -v ty="$type" 'tolower($1) == tolower(t) && $4 == ty {print $5}' "$tmp/expected" | sort)
    in_zone=$(awk -v t="$target" 'tolower($1) == tolower(t) {print "yes"; exit}' "$tmp/expected")
    [ -n "$in_zone" ] || continue  # outside the zone: not ours to check
    checks=$((checks + 1))
    got=$(q +short "$type" "$target" | sort)
    [ "$got" = "$want" ] || fail "$type $target: got [$(echo $got)], want [$(echo $want)]"
  done
done

echo "dig-verify: $((checks - failures))/$checks checks passed for $zone at $server#$port"
[ "$failures" -eq 0 ]
