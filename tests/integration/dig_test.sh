#!/usr/bin/env bash
# Operator-style checks with dig and kdig against the real binary: the quick-start example zone,
# served on a free loopback port. Usage: dig_test.sh path/to/dnsd
set -euo pipefail
source "$(dirname "$0")/serve_example.sh" "$1"

d() { dig @127.0.0.1 -p "$port" +time=2 +tries=1 "$@"; }

check "server SRV set" "0 0 2380 etcd-1.c1.lab.example.com." d +short SRV _etcd-server-ssl-c1._tcp.lab.example.com
check_line "SRV set has 3 targets" "3" bash -c "dig @127.0.0.1 -p $port +short SRV _etcd-client-c1._tcp.lab.example.com | wc -l"
check "aa flag" "flags: qr aa rd;" d SRV _etcd-server-ssl-c1._tcp.lab.example.com
check "additional A" "etcd-2.c1.lab.example.com. 30	IN	A	192.0.2.22" d SRV _etcd-server-ssl-c1._tcp.lab.example.com
check "unnamed clear-text cluster" "0 0 2380 infra0.lab.example.com." d +short SRV _etcd-server._tcp.lab.example.com
check "AAAA of an IPv6 member" "2001:db8::11" d +short AAAA infra1.lab.example.com
check "NXDOMAIN" "status: NXDOMAIN" d nope.lab.example.com
check_all "NODATA for AAAA" "status: NOERROR" "flags: qr aa rd; QUERY: 1, ANSWER: 0, AUTHORITY: 1" -- d AAAA etcd-1.c1.lab.example.com
check_all "empty non-terminal" "status: NOERROR" "ANSWER: 0, AUTHORITY: 1" -- d _tcp.lab.example.com SRV
check "REFUSED outside" "status: REFUSED" d example.org
check "case preserved" "_ETCD-SERVER-SSL-C1._tcp.LAB.example.com. 30 IN	SRV 0 0 2380 etcd-1.c1.lab.example.com." \
  d +noall +answer SRV _ETCD-SERVER-SSL-C1._tcp.LAB.example.com
check "TCP" "0 0 2379 etcd-3.c1.lab.example.com." d +tcp +short SRV _etcd-client-c1._tcp.lab.example.com
check "no EDNS: three addresses in additional" "ADDITIONAL: 3" d +noedns SRV _etcd-server-ssl-c1._tcp.lab.example.com
check_none "no EDNS: no OPT" "OPT PSEUDOSECTION" d +noedns SRV _etcd-server-ssl-c1._tcp.lab.example.com
check "EDNS version 1: BADVERS" "status: BADVERS" d +edns=1 +noednsneg lab.example.com SOA
check "kdig SRV" "0 0 2380 etcd-3.c1.lab.example.com." kdig @127.0.0.1 -p "$port" +short SRV _etcd-server-ssl-c1._tcp.lab.example.com
check "kdig TCP NXDOMAIN" "NXDOMAIN" kdig @127.0.0.1 -p "$port" +tcp nope.lab.example.com
check "drill (ldns) SOA" "hostmaster.lab.example.com." drill -p "$port" @127.0.0.1 lab.example.com SOA
check "CH TXT refused" "status: REFUSED" d CH TXT version.bind
check "DNS cookie: dig finds the server cookie good" "(good)" d +cookie lab.example.com SOA
cookie=$(d +cookie lab.example.com SOA | awk '/COOKIE:/ {print $3}')
check "a fresh server cookie is kept" "COOKIE: $cookie (good)" d +cookie="$cookie" lab.example.com SOA
check "the same cookie over TCP" "COOKIE: $cookie (good)" d +tcp +cookie="$cookie" lab.example.com SOA
check "a malformed cookie: FORMERR" "status: FORMERR" d +cookie=0102030405 +noednsneg lab.example.com SOA

kill -HUP "$pid"
sleep 0.2
check "alive after SIGHUP" "status: NOERROR" d lab.example.com SOA

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
