#!/usr/bin/python3
"""Two or more name servers: dnsd as the primary of real secondaries (Knot DNS, NSD, BIND 9), each
started here inside a private network namespace, fed by AXFR/IXFR with TSIG and told by NOTIFY.
Usage: transfers.py SCENARIO --dnsd PATH   (ctest runs one scenario per test)."""
import json
import subprocess
import sys
import time
import urllib.request

from harness import main, wait_until, zone_yaml

ZONE = "lab.example.com"
KEY = "xfr-key"
SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="
PRIMARY = "127.0.0.1"
TOKEN = "e2e-token"

DNSD_KEYS = f"tsig_keys:\n  - {{ name: {KEY}, algorithm: hmac-sha256, secret: \"{SECRET}\" }}\n"


def primary_zone(secondaries):
    """The zone: one cluster of three, transfers to the secondaries' addresses with the key only,
    NOTIFY to each (signed), UPDATE with the same key."""
    mems = [(f"c1-{i}", f"etcd-{i}.c1.{ZONE}", f"127.0.1.{i}") for i in range(1, 4)]
    text = zone_yaml(ZONE, [("c1", True, mems)], extra={"c1": ["registration: true"]})
    text += "update: { keys: [" + KEY + "] }\ntransfer:\n  allow:\n"
    text += "".join(f"    - {{ address: {ip}, key: {KEY} }}\n" for ip in secondaries.values())
    text += "  notify:\n" + "".join(f"    - {{ address: \"{ip}:53\", key: {KEY} }}\n" for ip in secondaries.values())
    return text


def start_knot(h, ip):
    d = h.path("knot")
    subprocess.run(["mkdir", "-p", d], check=True)
    conf = f"""server:
    rundir: {d}
    listen: {ip}@53
control:
    listen: {d}/knot.sock
database:
    storage: {d}
key:
  - id: {KEY}
    algorithm: hmac-sha256
    secret: {SECRET}
remote:
  - id: primary
    address: {PRIMARY}@53
    via: {ip}
    key: {KEY}
acl:
  - id: notify_from_primary
    address: {PRIMARY}
    key: {KEY}
    action: notify
  - id: transfer_to_tests
    address: 127.0.0.0/8
    action: transfer
zone:
  - domain: {ZONE}
    storage: {d}
    file: {d}/{ZONE}.zone
    master: primary
    acl: [notify_from_primary, transfer_to_tests]
    zonefile-sync: -1
"""
    with open(f"{d}/knot.conf", "w") as f:
        f.write(conf)
    return h.spawn("knotd", ["knotd", "-c", f"{d}/knot.conf"])


def start_nsd(h, ip):
    d = h.path("nsd")
    subprocess.run(["mkdir", "-p", d], check=True)
    conf = f"""server:
    ip-address: {ip}@53
    zonesdir: "{d}"
    username: ""
    chroot: ""
    pidfile: "{d}/nsd.pid"
    database: ""
    xfrdfile: "{d}/xfrd.state"
    zonelistfile: "{d}/zone.list"
    xfrdir: "{d}"
    verbosity: 2
remote-control:
    control-enable: no
key:
    name: "{KEY}"
    algorithm: hmac-sha256
    secret: "{SECRET}"
zone:
    name: "{ZONE}"
    zonefile: "{ZONE}.zone"
    allow-notify: {PRIMARY} {KEY}
    request-xfr: {PRIMARY}@53 {KEY}
    outgoing-interface: {ip}
    provide-xfr: 127.0.0.0/8 NOKEY
"""
    with open(f"{d}/nsd.conf", "w") as f:
        f.write(conf)
    return h.spawn("nsd", ["nsd", "-d", "-c", f"{d}/nsd.conf"])


def start_bind(h, ip):
    d = h.path("bind")
    subprocess.run(["mkdir", "-p", d], check=True)
    conf = f"""options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    listen-on port 53 {{ {ip}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    notify no;
    dnssec-validation no;
    transfer-source {ip};
    query-source address {ip};
}};
controls {{ }};
key "{KEY}" {{ algorithm hmac-sha256; secret "{SECRET}"; }};
server {PRIMARY} {{ keys {{ {KEY}; }}; }};
zone "{ZONE}" {{
    type secondary;
    primaries {{ {PRIMARY} key {KEY}; }};
    file "{d}/{ZONE}.db";
    allow-notify {{ {PRIMARY}; }};
    allow-transfer {{ 127.0.0.0/8; }};
}};
"""
    with open(f"{d}/named.conf", "w") as f:
        f.write(conf)
    return h.spawn("named", ["named", "-g", "-c", f"{d}/named.conf", "-u", "root"])


SECONDARIES = {"knot": "127.0.0.2", "nsd": "127.0.0.3", "bind": "127.0.0.4"}
STARTERS = {"knot": start_knot, "nsd": start_nsd, "bind": start_bind}


def serial(h, ip):
    out = h.dig(ip, 53, "SOA", ZONE)
    return int(out.split()[2]) if out else None


def axfr(ip, key=True, source=None):
    """The zone as kdig transfers it from ip: sorted RR lines (TSIG left out), or (rcode, []) on error."""
    argv = ["kdig", f"@{ip}", "-p", "53", "AXFR", ZONE, "+timeout=2", "+retry=0"]
    if key:
        argv += ["-y", f"hmac-sha256:{KEY}:{SECRET}" if key is True else key]
    if source:
        argv += ["-b", source]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    rrs = sorted(" ".join(line.split()) for line in r.stdout.splitlines()
                 if line and not line.startswith(";") and "\tTSIG\t" not in line and " TSIG " not in line)
    error = next((line for line in (r.stdout + r.stderr).splitlines() if line.startswith(";; ERROR")), None)
    return error, rrs


def put_member(member, host, address):
    body = json.dumps({"host": host, "addresses": [address]}).encode()
    req = urllib.request.Request(f"http://{PRIMARY}:8053/v1/zones/{ZONE}/clusters/c1/members/{member}", data=body,
                                 method="PUT", headers={"Authorization": f"Bearer {TOKEN}",
                                                        "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status in (200, 201), r.status


def setup(h):
    with open(h.path("token"), "w") as f:
        f.write(TOKEN + "\n")
    for ip in SECONDARIES.values():
        subprocess.run(["ip", "addr", "add", f"{ip}/8", "dev", "lo"], check=False, capture_output=True)
    primary = h.start_dnsd(primary_zone(SECONDARIES), control=f"{PRIMARY}:8053", token_file=h.path("token"),
                           extra_conf=DNSD_KEYS)
    procs = {name: STARTERS[name](h, ip) for name, ip in SECONDARIES.items()}
    want = serial(h, PRIMARY)

    def holds(name, ip):
        assert procs[name].alive(), f"{name} exited"
        return serial(h, ip) == want
    for name, ip in SECONDARIES.items():
        wait_until(f"{name} to hold serial {want}", lambda name=name, ip=ip: holds(name, ip), 30, 0.2)
    return primary, procs


def knot_nsd_bind_secondaries(h):
    """Knot, NSD and BIND as secondaries of dnsd with TSIG: each holds the primary's serial and the
    same records; a registration and an UPDATE reach all three through NOTIFY and IXFR (milliseconds
    printed); ACLs refuse a wrong source, a missing key and a wrong key; with the primary killed the
    secondaries keep answering."""
    primary, _ = setup(h)
    error, want = axfr(PRIMARY, source=SECONDARIES["knot"])
    assert error is None and len(want) > 10, f"primary AXFR: {error} {want}"
    for name, ip in SECONDARIES.items():
        error, got = axfr(ip, key=None)
        assert got == want, f"{name} AXFR differs from the primary's:\n{got}\n!=\n{want}"
    print(f"equal AXFR on {', '.join(SECONDARIES)}: {len(want)} records")

    # A registration: visible on every secondary (NOTIFY, then IXFR).
    for change, act in (("registration", lambda: put_member("c1-4", f"etcd-4.c1.{ZONE}", "127.0.1.4")),
                        ("UPDATE", lambda: nsupdate(h, f"update add web.{ZONE} 30 A 192.0.2.80"))):
        before = serial(h, PRIMARY)
        started = time.monotonic()
        act()
        after = serial(h, PRIMARY)
        assert after != before, f"{change}: the primary's serial did not change"
        took = {}

        def all_seen():
            for name, ip in SECONDARIES.items():
                if name not in took and serial(h, ip) == after:
                    took[name] = (time.monotonic() - started) * 1000
            return len(took) == len(SECONDARIES)
        wait_until(f"{change} on every secondary", all_seen, 15, 0.005)
        print(f"{change}: serial {before} -> {after}, on the secondaries after " +
              ", ".join(f"{n} {ms:.0f} ms" for n, ms in took.items()))
    assert "ixfr" in primary.log() and "change(s)" in primary.log(), "no incremental transfer was served"
    print("incremental transfers served:", primary.log().count("change(s)"))

    # ACLs: a source without a rule, no key, a wrong key.
    for what, kwargs, expect in (("a source without a rule", {"source": "127.0.0.9"}, "REFUSED"),
                                 ("no key", {"key": None, "source": "127.0.0.2"}, "REFUSED"),
                                 ("a wrong key", {"key": f"hmac-sha256:{KEY}:d3JvbmctY29va2llLXdyb25nLWNvb2tpZS0xMjM0NTY="},
                                  "BADSIG")):
        subprocess.run(["ip", "addr", "add", "127.0.0.9/8", "dev", "lo"], check=False, capture_output=True)
        error, got = axfr(PRIMARY, **kwargs)
        assert error and expect in error and not got, f"{what}: {error} {got[:3]}"
        print(f"refused: {what}: {error}")

    # The primary dies: every secondary keeps answering with what it holds.
    last = serial(h, PRIMARY)
    primary.stop(sig=9)
    for name, ip in SECONDARIES.items():
        assert serial(h, ip) == last, f"{name} stopped answering with the primary down"
        assert h.dig(ip, 53, "A", f"etcd-4.c1.{ZONE}") == "127.0.1.4", f"{name} lost the registered member"
    print("primary killed: all secondaries still answer")


def nsupdate(h, line):
    script = f"server {PRIMARY} 53\nkey hmac-sha256:{KEY} {SECRET}\nzone {ZONE}\n{line}\nsend\n"
    r = subprocess.run(["nsupdate"], input=script, capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, f"nsupdate: {r.stdout} {r.stderr}"


if __name__ == "__main__":
    sys.exit(main({"knot_nsd_bind_secondaries": knot_nsd_bind_secondaries}))
