#!/usr/bin/env bash
# DNS UPDATE with TSIG as operators do it: BIND's nsupdate against the real binary serving the
# quick-start zone with `update: {keys: [ddns-key]}`; the key comes from a BIND key file.
# Usage: nsupdate_test.sh path/to/dnsd
set -euo pipefail
secret=c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=
zone_extra=$'update: { keys: [ddns-key] }\n'
daemon_extra=$'tsig_keys:\n  - { name: ddns-key, algorithm: hmac-sha256, secret_file: ddns-key.key }\n'
prepare_dnsd() { printf 'key "ddns-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' "$secret" > ddns-key.key; }
source "$(dirname "$0")/serve_example.sh" "$1"

d() { dig @127.0.0.1 -p "$port" +time=2 +tries=1 "$@"; }
nsu() {  # nsu KEY|- COMMANDS... : one update message; prints nsupdate's errors and "exit STATUS"
  local key=$1 rc=0; shift
  { echo "server 127.0.0.1 $port"; echo "zone lab.example.com"; printf '%s\n' "$@"; echo send; } |
    if [ "$key" = - ]; then nsupdate -t 3; else nsupdate -t 3 -y "$key"; fi || rc=$?
  echo "exit $rc"
}
good="hmac-sha256:ddns-key:$secret"

check "add with the key" "exit 0" nsu "$good" "update add www.lab.example.com 60 A 192.0.2.80" "update add www.lab.example.com 60 TXT \"v=1\""
check "served at once" "192.0.2.80" d +short www.lab.example.com A
check "over TCP (nsupdate -v)" "exit 0" bash -c "printf 'server 127.0.0.1 $port\nzone lab.example.com\nupdate add tcp.lab.example.com 60 AAAA 2001:db8::80\nsend\n' | nsupdate -v -y $good && echo exit 0"
check "TCP add served" "2001:db8::80" d +short tcp.lab.example.com AAAA
check "wrong secret: BADSIG" "NOTAUTH(BADSIG)" nsu "hmac-sha256:ddns-key:c2VjcmV0" "update add bad.lab.example.com 60 A 192.0.2.1"
check "unknown key: BADKEY" "NOTAUTH(BADKEY)" nsu "hmac-sha256:nobody:$secret" "update add bad.lab.example.com 60 A 192.0.2.1"
check "no key: REFUSED" "REFUSED" nsu - "update add bad.lab.example.com 60 A 192.0.2.1"
check "nothing bad was added" "status: NXDOMAIN" d bad.lab.example.com A
check "prereq nxdomain on a used name: YXDOMAIN" "YXDOMAIN" nsu "$good" "prereq nxdomain www.lab.example.com" "update add www.lab.example.com 60 A 192.0.2.81"
check "prereq yxrrset missing: NXRRSET" "NXRRSET" nsu "$good" "prereq yxrrset www.lab.example.com AAAA" "update add www.lab.example.com 60 A 192.0.2.81"
check "failed prereq changed nothing" "192.0.2.80" d +short www.lab.example.com A
check "prereq yxdomain then replace" "exit 0" nsu "$good" "prereq yxdomain www.lab.example.com" "update delete www.lab.example.com A" "update add www.lab.example.com 60 A 192.0.2.81"
check "replaced" "192.0.2.81" d +short www.lab.example.com A
check "config-owned SRV: REFUSED" "REFUSED" nsu "$good" "update delete _etcd-server-ssl-c1._tcp.lab.example.com SRV"
check "SRV set intact" "etcd-1.c1.lab.example.com." d +short SRV _etcd-server-ssl-c1._tcp.lab.example.com
check "outside the zone: NOTZONE" "NOTZONE" nsu "$good" "update add www.example.org 60 A 192.0.2.1"
# kill -9 the moment the last update is acknowledged: acknowledged means on disk, not soon after.
check "a last update" "exit 0" nsu "$good" "update add last.lab.example.com 60 A 192.0.2.82"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true; start_dnsd
check "the last update survives kill -9" "192.0.2.82" d +short last.lab.example.com A
check "survives kill -9" "192.0.2.81" d +short www.lab.example.com A
check "TXT survives too" '"v=1"' d +short www.lab.example.com TXT
check "delete the name" "exit 0" nsu "$good" "update delete www.lab.example.com"
check "deleted: NXDOMAIN with SOA" "status: NXDOMAIN" d www.lab.example.com A
check "logged with the key name" "changed by key ddns-key." cat "$tmp/log"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
