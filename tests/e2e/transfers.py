#!/usr/bin/python3
"""Two or more name servers, each started here inside a private network namespace: dnsd as the primary
of real secondaries (Knot DNS, NSD, BIND 9), fed by AXFR/IXFR with TSIG and told by NOTIFY; dnsd as the
secondary of Knot and of BIND; etcd bootstrapping through a dnsd secondary of a hidden dnsd primary.
Usage: transfers.py SCENARIO --dnsd PATH   (ctest runs one scenario per test)."""
import json
import subprocess
import sys
import time
import urllib.request

from harness import main, wait_until, zone_yaml
from run import expected, members, start_members

ZONE = "lab.example.com"
KEY = "xfr-key"
SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="
PRIMARY = "127.0.0.1"
TOKEN = "e2e-token"

DNSD_KEYS = f"tsig_keys:\n  - {{ name: {KEY}, algorithm: hmac-sha256, secret: \"{SECRET}\" }}\n"


# A member's /health as etcd answers it, on ADDRESS:2379: the probes of the primary's cluster.
RESPONDER = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"health":"true"}'
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer((sys.argv[1], 2379), H).serve_forever()
"""


def primary_zone(secondaries):
    """The zone: one cluster of three, probed (a flip changes the client set), transfers to the
    secondaries' addresses with the key only, NOTIFY to each (signed), UPDATE with the same key."""
    mems = [(f"c1-{i}", f"etcd-{i}.c1.{ZONE}", f"127.0.1.{i}") for i in range(1, 4)]
    text = zone_yaml(ZONE, [("c1", True, mems)], extra={"c1": ["registration: true",
                                                               "health: { interval: 500ms, timeout: 400ms, rise: 1, fall: 1 }"]})
    text += "update: { keys: [" + KEY + "] }\ntransfer:\n  allow:\n"
    text += "".join(f"    - {{ address: {ip}, key: {KEY} }}\n" for ip in secondaries.values())
    text += "  notify:\n" + "".join(f"    - {{ address: \"{ip}:53\", key: {KEY} }}\n" for ip in secondaries.values())
    return text


def knot_dir(h):
    d = h.path("knot")
    subprocess.run(["mkdir", "-p", d], check=True)
    return d


def knot_head(d, ip):
    """knot.conf up to its remotes: Knot on ip:53, its files in d, a control socket, the TSIG key."""
    return f"""server:
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
"""


def start_knot(h, ip):
    d = knot_dir(h)
    conf = knot_head(d, ip) + f"""remote:
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
    d = bind_dir(h)
    zone = f"""server {PRIMARY} {{ keys {{ {KEY}; }}; }};
zone "{ZONE}" {{
    type secondary;
    primaries {{ {PRIMARY} key {KEY}; }};
    file "{d}/{ZONE}.db";
    allow-notify {{ {PRIMARY}; }};
    allow-transfer {{ 127.0.0.0/8; }};
}};
"""
    return spawn_named(h, "named", d, ip, "    notify no;\n", zone)


def bind_dir(h):
    d = h.path("bind")
    subprocess.run(["mkdir", "-p", d], check=True)
    return d


def spawn_named(h, name, d, ip, options, zones):
    """named on ip:53 (no recursion, no DNSSEC validation, requests from ip), its files in d, the TSIG
    key, more `options` lines, then `zones`."""
    with open(f"{d}/named.conf", "w") as f:
        f.write(f"""options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    listen-on port 53 {{ {ip}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    transfer-source {ip};
    query-source address {ip};
{options}}};
controls {{ }};
key "{KEY}" {{ algorithm hmac-sha256; secret "{SECRET}"; }};
{zones}""")
    return h.spawn(name, ["named", "-g", "-c", f"{d}/named.conf", "-u", "root"])


SECONDARIES = {"knot": "127.0.0.2", "nsd": "127.0.0.3", "bind": "127.0.0.4"}
STARTERS = {"knot": start_knot, "nsd": start_nsd, "bind": start_bind}


def serial(h, ip, zone=ZONE):
    out = h.dig(ip, 53, "SOA", zone)
    return int(out.split()[2]) if out else None


def axfr(ip, key=True, source=None, zone=ZONE):
    """The zone as kdig transfers it from ip: sorted RR lines (TSIG left out), or (rcode, []) on error."""
    argv = ["kdig", f"@{ip}", "-p", "53", "AXFR", zone, "+timeout=2", "+retry=0"]
    if key:
        argv += ["-y", f"hmac-sha256:{KEY}:{SECRET}" if key is True else key]
    if source:
        argv += ["-b", source]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    rrs = sorted(" ".join(line.split()) for line in r.stdout.splitlines()
                 if line and not line.startswith(";") and "\tTSIG\t" not in line and " TSIG " not in line)
    error = next((line for line in (r.stdout + r.stderr).splitlines() if line.startswith(";; ERROR")), None)
    return error, rrs


def put_member(member, host, address, control=f"{PRIMARY}:8053"):
    body = json.dumps({"host": host, "addresses": [address]}).encode()
    req = urllib.request.Request(f"http://{control}/v1/zones/{ZONE}/clusters/c1/members/{member}", data=body,
                                 method="PUT", headers={"Authorization": f"Bearer {TOKEN}",
                                                        "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status in (200, 201), r.status


def setup(h):
    with open(h.path("token"), "w") as f:
        f.write(TOKEN + "\n")
    for ip in SECONDARIES.values():
        subprocess.run(["ip", "addr", "add", f"{ip}/8", "dev", "lo"], check=False, capture_output=True)
    responders = {i: h.spawn(f"health-{i}", ["/usr/bin/python3", "-c", RESPONDER, f"127.0.1.{i}"]) for i in range(1, 5)}
    primary = h.start_dnsd(primary_zone(SECONDARIES), control=f"{PRIMARY}:8053", token_file=h.path("token"),
                           extra_conf=DNSD_KEYS)

    def healthy():
        zone = json.loads(urllib.request.urlopen(f"http://{PRIMARY}:8053/v1/zones/{ZONE}", timeout=5).read())
        return zone["clusters"][0]["healthy"] == 3
    wait_until("every member probed healthy", healthy, 15, 0.1)
    procs = {name: STARTERS[name](h, ip) for name, ip in SECONDARIES.items()}
    procs["responders"] = responders
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
    primary, procs = setup(h)
    error, want = axfr(PRIMARY, source=SECONDARIES["knot"])
    assert error is None and len(want) > 10, f"primary AXFR: {error} {want}"
    for name, ip in SECONDARIES.items():
        error, got = axfr(ip, key=None)
        assert got == want, f"{name} AXFR differs from the primary's:\n{got}\n!=\n{want}"
    print(f"equal AXFR on {', '.join(SECONDARIES)}: {len(want)} records")

    # A registration, an UPDATE and a health flip (a member's /health stops answering): each visible
    # on every secondary (NOTIFY, then IXFR), timed from the primary's new serial. A registered member
    # is probed too, and its first probe may bump the serial again: a secondary holding a later
    # serial has seen the change.
    def still_healthy():
        wait_until("the registered member probed healthy", lambda: json.loads(urllib.request.urlopen(
            f"http://{PRIMARY}:8053/v1/zones/{ZONE}", timeout=5).read())["clusters"][0]["healthy"] == 4, 15, 0.05)
    for change, act in (("registration", lambda: put_member("c1-4", f"etcd-4.c1.{ZONE}", "127.0.1.4")),
                        ("UPDATE", lambda: still_healthy() or nsupdate(h, f"update add web.{ZONE} 30 A 192.0.2.80")),
                        ("health flip", lambda: procs["responders"][3].stop(sig=9))):
        before = serial(h, PRIMARY)
        act()
        wait_until(f"{change}: a new serial on the primary", lambda: serial(h, PRIMARY) != before, 10, 0.002)
        started = time.monotonic()
        after = serial(h, PRIMARY)
        took = {}

        def all_seen():
            for name, ip in SECONDARIES.items():
                held = serial(h, ip)
                if name not in took and held is not None and held >= after:
                    took[name] = (time.monotonic() - started) * 1000
            return len(took) == len(SECONDARIES)
        wait_until(f"{change} on every secondary", all_seen, 15, 0.005)
        print(f"{change}: serial {before} -> {after}, on the secondaries after " +
              ", ".join(f"{n} {ms:.0f} ms" for n, ms in took.items()))
    for name, ip in SECONDARIES.items():
        client = h.dig(ip, 53, "SRV", f"_etcd-client-c1._tcp.{ZONE}") or ""
        assert "etcd-3" not in client and "etcd-4" in client, f"{name}: the flip is not served: {client}"
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


def nsupdate(h, line, server=PRIMARY, zone=ZONE):
    script = f"server {server} 53\nkey hmac-sha256:{KEY} {SECRET}\nzone {zone}\n{line}\nsend\n"
    r = subprocess.run(["nsupdate"], input=script, capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, f"nsupdate: {r.stdout} {r.stderr}"


# --- dnsd as a secondary ----------------------------------------------------------------------------
KNOT_ZONE, BIND_ZONE = "k.example.com", "b.example.com"
KNOT_IP, BIND_IP = "127.0.0.2", "127.0.0.3"


def zone_file(zone, ip):
    """An RFC 1035 zone with an etcd cluster's records, as Knot and BIND load it."""
    return (f"$ORIGIN {zone}.\n$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 30\n@ NS ns1\nns1 A {ip}\n"
            + "".join(f"_etcd-server-ssl._tcp SRV 0 0 2380 etcd-{i}\netcd-{i} A 127.0.1.{i}\n" for i in range(1, 4))
            + "www A 192.0.2.80\nwww AAAA 2001:db8::80\ntxt TXT \"hello\" \"world\"\n")


def start_knot_primary(h):
    d = knot_dir(h)
    with open(f"{d}/{KNOT_ZONE}.zone", "w") as f:
        f.write(zone_file(KNOT_ZONE, KNOT_IP))
    conf = knot_head(d, KNOT_IP) + f"""remote:
  - id: dnsd
    address: {PRIMARY}@53
    via: {KNOT_IP}
    key: {KEY}
acl:
  - id: transfer_to_dnsd
    address: 127.0.0.0/8
    key: {KEY}
    action: transfer
zone:
  - domain: {KNOT_ZONE}
    storage: {d}
    file: {d}/{KNOT_ZONE}.zone
    notify: dnsd
    acl: [transfer_to_dnsd]
    zonefile-sync: -1
"""
    with open(f"{d}/knot.conf", "w") as f:
        f.write(conf)
    proc = h.spawn("knotd-primary", ["knotd", "-c", f"{d}/knot.conf"])
    wait_until("Knot to serve its zone", lambda: serial(h, KNOT_IP, KNOT_ZONE) == 1, 15)
    return proc, d


def start_bind_primary(h):
    d = bind_dir(h)
    with open(f"{d}/{BIND_ZONE}.db", "w") as f:
        f.write(zone_file(BIND_ZONE, BIND_IP))
    zone = f"""zone "{BIND_ZONE}" {{
    type primary;
    file "{d}/{BIND_ZONE}.db";
    also-notify {{ {PRIMARY} key {KEY}; }};
    allow-transfer {{ key {KEY}; }};
    allow-update {{ key {KEY}; }};
}};
"""
    options = f"    notify explicit;\n    notify-delay 0;\n    notify-source {BIND_IP};\n"
    proc = spawn_named(h, "named-primary", d, BIND_IP, options, zone)
    wait_until("BIND to serve its zone", lambda: serial(h, BIND_IP, BIND_ZONE) == 1, 15)
    return proc, d


def secondary_zone(zone, ip):
    return (f"zone: {zone}\nprimaries:\n  - {{ address: \"{ip}:53\", key: {KEY} }}\n"
            f"transfer:\n  allow:\n    - {{ address: 127.0.0.0/8, key: {KEY} }}\n")


def dnsd_secondary_of_knot_and_bind(h):
    """dnsd as the secondary of Knot (one zone) and BIND (another), with TSIG both ways: it holds each
    primary's serial and an AXFR equal to the primary's; a change on each (knotc, nsupdate) reaches it
    by NOTIFY and IXFR (milliseconds printed); with both primaries killed, and after a restart of dnsd,
    it still answers from its copies."""
    for ip in (KNOT_IP, BIND_IP):
        subprocess.run(["ip", "addr", "add", f"{ip}/8", "dev", "lo"], check=False, capture_output=True)
    knot, knot_files = start_knot_primary(h)
    bind, _ = start_bind_primary(h)
    dnsd = h.start_dnsd(secondary_zone(KNOT_ZONE, KNOT_IP), extra_conf=DNSD_KEYS,
                        extra_zones={"b.yaml": secondary_zone(BIND_ZONE, BIND_IP)})
    wait_until("dnsd to hold the BIND zone", lambda: serial(h, PRIMARY, BIND_ZONE) == 1, 15)
    for zone, ip in ((KNOT_ZONE, KNOT_IP), (BIND_ZONE, BIND_IP)):
        error, want = axfr(ip, zone=zone)
        assert error is None and len(want) > 10, f"{zone} from its primary: {error} {want}"
        error, got = axfr(PRIMARY, zone=zone)
        assert got == want, f"dnsd's AXFR of {zone} differs from its primary's:\n{got}\n!=\n{want}"
        print(f"{zone}: dnsd's AXFR equals its primary's ({len(want)} records)")

    changes = (
        (KNOT_ZONE, "knotc", lambda: knotc(knot_files, "zone-begin", KNOT_ZONE) and
         knotc(knot_files, "zone-set", KNOT_ZONE, "new", "60", "A", "192.0.2.81") and knotc(knot_files, "zone-commit", KNOT_ZONE)),
        (BIND_ZONE, "nsupdate", lambda: nsupdate(h, f"update add new.{BIND_ZONE} 60 A 192.0.2.81", server=BIND_IP, zone=BIND_ZONE)),
    )
    for zone, how, act in changes:
        started = time.monotonic()
        act()
        wait_until(f"the change on {zone} on dnsd", lambda zone=zone: h.dig(PRIMARY, 53, "A", f"new.{zone}") == "192.0.2.81",
                   15, 0.005)
        print(f"{zone}: a change by {how} visible on dnsd after {(time.monotonic() - started) * 1000:.0f} ms")
        error, want = axfr(KNOT_IP if zone == KNOT_ZONE else BIND_IP, zone=zone)
        error2, got = axfr(PRIMARY, zone=zone)
        assert got == want, f"after the change, dnsd's AXFR of {zone} differs:\n{got}\n!=\n{want}"
    assert dnsd.log().count(" by ixfr:") >= 2, "the changes were not transferred incrementally:\n" + dnsd.log()[-2000:]
    print("both changes came by IXFR")

    held = {z: serial(h, PRIMARY, z) for z in (KNOT_ZONE, BIND_ZONE)}
    knot.stop(sig=9)
    bind.stop(sig=9)
    dnsd.stop()
    h.procs.remove(dnsd)
    h.start_dnsd(secondary_zone(KNOT_ZONE, KNOT_IP), extra_conf=DNSD_KEYS,
                 extra_zones={"b.yaml": secondary_zone(BIND_ZONE, BIND_IP)})
    for zone, s in held.items():
        assert serial(h, PRIMARY, zone) == s, f"{zone}: restarted with its primary down, dnsd lost its copy"
        assert h.dig(PRIMARY, 53, "A", f"new.{zone}") == "192.0.2.81"
    print("primaries killed and dnsd restarted: it answers both zones from its copies")


def knotc(d, *args):
    r = subprocess.run(["knotc", "-s", f"{d}/knot.sock", *args], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, f"knotc {args}: {r.stdout} {r.stderr}"
    return True


def etcd_through_secondary(h):
    """A hidden dnsd primary (127.0.0.53) owns registrations; etcd's resolver points at a dnsd secondary
    (127.0.0.1) fed by NOTIFY and IXFR. Three members registered on the primary bootstrap through the
    secondary, and the secondary's AXFR equals the primary's."""
    hidden = "127.0.0.53"
    subprocess.run(["ip", "addr", "add", f"{hidden}/8", "dev", "lo"], check=False, capture_output=True)
    with open(h.path("token"), "w") as f:
        f.write(TOKEN + "\n")
    mems = members("c1", 3, lambda i: f"127.0.1.{i}")
    text = zone_yaml(ZONE, [("c1", True, [])], extra={"c1": ["registration: true", "expected_size: 3"]})
    text += (f"transfer:\n  allow:\n    - {{ address: 127.0.0.0/8, key: {KEY} }}\n"
             f"  notify:\n    - {{ address: \"{PRIMARY}:53\", key: {KEY} }}\n")
    h.start_dnsd(text, listen=f"{hidden}:53", name="primary", control=f"{hidden}:8053", token_file=h.path("token"),
                 extra_conf=DNSD_KEYS)
    h.start_dnsd(secondary_zone(ZONE, hidden), extra_conf=DNSD_KEYS)
    for name, host, ip in mems:
        put_member(name, host, ip, control=f"{hidden}:8053")
    want = serial(h, hidden)
    wait_until("the secondary to hold the primary's serial", lambda: serial(h, PRIMARY) == want, 15, 0.05)
    start_members(h, "c1", mems)
    h.assert_cluster(ZONE, "c1", expected(mems))
    error, got = axfr(PRIMARY, source="127.0.0.1")
    error2, primary_rrs = axfr(hidden, source="127.0.0.1")
    assert got == primary_rrs and len(got) > 10, f"the secondary's AXFR differs from the primary's:\n{got}\n{primary_rrs}"
    print("etcd bootstrapped through the secondary; its AXFR equals the hidden primary's")


if __name__ == "__main__":
    sys.exit(main({"knot_nsd_bind_secondaries": knot_nsd_bind_secondaries,
                   "dnsd_secondary_of_knot_and_bind": dnsd_secondary_of_knot_and_bind,
                   "etcd_through_secondary": etcd_through_secondary}))
