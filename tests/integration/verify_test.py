#!/usr/bin/python3
"""`dnsd verify` against crafted servers (tests/integration/crafted_dns.py) with one fault each, and
against dnsd itself: the exit code (0 etcd would bootstrap, 1 it would not, 2 unreachable) and the
finding that says why. Usage: verify_test.py DNSD"""
import json
import socket
import subprocess
import sys
import time

from checks import check, failures, free_port, temp_dir
from crafted_dns import Server, Zone
import verify_cases

DNSD = sys.argv[1]
ORIGIN = "lab.example.com"


def good(faults=(), members=3, prefix="etcd", plain=False):
    z = Zone(ORIGIN, faults)
    for i in range(1, members + 1):
        host = f"{prefix}-{i}.{ORIGIN}"
        z.srv(f"_etcd-server{'' if plain else '-ssl'}-c1._tcp.{ORIGIN}", host, 2380)
        z.srv(f"_etcd-client-c1._tcp.{ORIGIN}", host, 2379)
        z.a(host, f"127.0.1.{i}")
    return z


def verify(port, *args):
    started = time.monotonic()
    r = subprocess.run([DNSD, "verify", "--server", f"127.0.0.1:{port}", "--domain", ORIGIN, *args],
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr, time.monotonic() - started


def case(what, zone, expect_rc, expect_text, *args):
    port = free_port()
    server = Server(zone, port)
    try:
        rc, out, took = verify(port, "--name", "c1", *args)
    finally:
        server.stop()
    check(f"{what}: exit {expect_rc}", rc == expect_rc and expect_text in out and took < 5, f"exit {rc} in {took:.1f}s:\n{out}")


def main():
    case("a good zone", good(), 0, "etcd 3.4 would bootstrap")
    case("the peer URLs as etcd writes them", good(), 0, "https://etcd-2.lab.example.com:2380  (127.0.1.2:2380)")
    case("compressed SRV targets", good(["compress"]), 1, "SRV target names are compressed")
    # 30 targets with long names: the answer alone is over 1232 bytes.
    case("a UDP reply over 1232 bytes without TC, cut in the answer", good(["no_tc"], 30, "etcd-member-with-a-rather-long-name"),
         1, "the answer is cut (cannot unmarshal DNS message)")
    case("a UDP reply over 1232 bytes without TC, cut in the additional section only", good(["no_tc", "pad"]),
         0, "which cuts only the additional section")
    case("a reply over 1232 bytes with TC: read again over TCP", good(["pad"]), 0, "would bootstrap")
    z = good()
    z.srv(f"_etcd-server-ssl-c1._tcp.{ORIGIN}", f"etcd-4.{ORIGIN}", 2380)
    case("a target without an address", z, 1, "target etcd-4.lab.example.com has no address")
    z = good()
    z.srv(f"_etcd-server-ssl-c1._tcp.{ORIGIN}", f"-bad.{ORIGIN}", 2380)
    case("a target that is not a valid host name", z, 1, "is not a valid host name")
    z = good()
    z.srv(f"_etcd-server-ssl-c1._tcp.{ORIGIN}", f"etcd-1.{ORIGIN}", 2380)
    case("a duplicate SRV record", z, 1, "duplicate url https://etcd-1.lab.example.com:2380")
    z = good(members=2)
    z.srv(f"_etcd-server-ssl-c1._tcp.{ORIGIN}", f"alias.{ORIGIN}", 2380)
    z.cname(f"alias.{ORIGIN}", f"etcd-3.{ORIGIN}")
    z.a(f"etcd-3.{ORIGIN}", "127.0.1.3")
    case("a CNAME target whose chain is in the answer", z, 0, "target alias.lab.example.com is a CNAME")
    case("answers without AA", good(["no_aa"]), 0, "no AA bit")
    case("plain records only, etcd 3.4", good(plain=True), 1, "the plain _etcd-server-c1 records are ignored by etcd 3.4")
    case("plain records only, etcd 3.5", good(plain=True), 0, "etcd 3.5 would bootstrap", "--etcd-version", "3.5")
    case("a member that finds itself", good(), 0, "m2=https://etcd-2.lab.example.com:2380",
         "--member", "m2", "--peer-url", "https://etcd-2.lab.example.com:2380")
    case("a member whose peer URL is no target", good(), 1, 'cannot find local etcd member "m9"',
         "--member", "m9", "--peer-url", "https://127.0.9.9:2380")
    case("a set of another size than expected", good(), 1, "has 3 member(s), not the 4 expected", "--expect-size", "4")
    case("no server set at all", Zone(ORIGIN), 1, "couldn't resolve during SRV discovery")

    # The zones real etcd was started against (tests/e2e/verify_agrees.py): verify agrees with etcd.
    for name, (build, _, etcd_bootstraps) in verify_cases.CASES.items():
        port = free_port()
        server = Server(build(), port)
        try:
            codes = [verify(port, *verify_cases.verify_args(m))[0] for m in verify_cases.MEMBERS]
        finally:
            server.stop()
        check(f"as etcd 3.4.23 does ({'bootstraps' if etcd_bootstraps else 'fails'}): {name}",
              all(c == 0 for c in codes) == etcd_bootstraps and all(c in (0, 1) for c in codes), codes)

    # Unreachable: a port nobody listens on, and one that never answers (exit 2 within 10 s, naming it).
    port = free_port()
    rc, out, took = verify(port)
    check("a server that refuses: exit 2 at once, naming it", rc == 2 and f"127.0.0.1:{port}" in out and took < 3, (rc, out, took))
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    rc, out, took = verify(silent.getsockname()[1])
    check("a server that never answers: exit 2 within 10 s", rc == 2 and "i/o timeout" in out and took < 10, (rc, out, took))

    # `dnsd check` tells the same story offline, as warnings (exit 0): a clear-text cluster fails on 3.4,
    # the TLS one does not.
    tmp = temp_dir("dnsd-check-")
    with open(f"{tmp}/lab.yaml", "w") as f:
        f.write(f"zone: {ORIGIN}\nsoa: {{ mname: ns1.{ORIGIN}, rname: h.example.org }}\nns: [ns1.{ORIGIN}]\n"
                "records: |\n  ns1 IN A 127.0.0.1\nclusters:\n"
                f"  - name: c1\n    members:\n      - {{ name: m1, host: etcd-1.c1.{ORIGIN}, addresses: [127.0.1.1] }}\n"
                f"  - name: plain\n    peer_tls: false\n    members:\n      - {{ name: m1, host: etcd-1.plain.{ORIGIN}, addresses: [127.0.2.1] }}\n")
    with open(f"{tmp}/dnsd.yaml", "w") as f:
        f.write('listen: ["127.0.0.1:1"]\nzones: ["lab.yaml"]\nstate_dir: state\n')
    r = subprocess.run([DNSD, "check", "-c", f"{tmp}/dnsd.yaml"], capture_output=True, text=True, timeout=30)
    check("dnsd check: what verify would find, as warnings (exit 0)",
          r.returncode == 0 and "cluster 'plain': etcd 3.4 would not bootstrap from these records: etcd 3.4 would exit: "
          "couldn't resolve during SRV discovery" in r.stderr and "cluster 'c1': etcd 3.4 would not" not in r.stderr, r.stderr)

    # dnsd itself, with JSON output.
    tmp = temp_dir("dnsd-verify-")
    port = free_port()
    with open(f"{tmp}/lab.yaml", "w") as f:
        f.write(f"zone: {ORIGIN}\nsoa: {{ mname: ns1.{ORIGIN}, rname: h.example.org }}\nns: [ns1.{ORIGIN}]\n"
                "records: |\n  ns1 IN A 127.0.0.1\nclusters:\n  - name: c1\n    members:\n"
                + "".join(f"      - {{ name: m{i}, host: etcd-{i}.c1.{ORIGIN}, addresses: [127.0.1.{i}] }}\n" for i in (1, 2, 3)))
    with open(f"{tmp}/dnsd.yaml", "w") as f:
        f.write(f'listen: ["127.0.0.1:{port}"]\nzones: ["lab.yaml"]\nstate_dir: state\nworkers: 1\n')
    dnsd = subprocess.Popen([DNSD, "run", "-c", f"{tmp}/dnsd.yaml"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            rc, out, _ = verify(port, "--name", "c1", "-o", "json")
            if rc != 2:
                break
            time.sleep(0.05)
        report = json.loads(out) if rc == 0 else {}
        check("dnsd itself: exit 0, JSON with three peers and no finding",
              rc == 0 and report["bootstrap"] and len(report["peers"]) == 3 and report["errors"] == []
              and report["warnings"] == [], out)
    finally:
        dnsd.terminate()
        dnsd.wait(10)
    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
