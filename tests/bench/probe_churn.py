#!/usr/bin/python3
"""Probe churn: dnsd probing ~1,000 members (50 clusters of 20, half over https) of two local
responders (tests/bench/http_responder.cpp) while the zone file changes under it: members added and
removed, intervals changed, clusters added and removed, with SIGHUP every 0.2 s (150 changes). Then it
waits SETTLE seconds (default 30) and prints dnsd's state: every member should be healthy, dnsd alive
and stopping cleanly. Run it with an ASan build to check the prober's and the health monitor's
bookkeeping under change (no report may appear in the log). Not part of `make test`.
Usage: probe_churn.py [build dir]"""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../build")
tmp = tempfile.mkdtemp(prefix="dnsd-churn-")
os.makedirs(f"{tmp}/zones")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                f"{tmp}/key.pem", "-out", f"{tmp}/cert.pem", "-days", "1", "-subj", "/CN=probe.scale.example.com",
                "-addext", "subjectAltName=DNS:probe.scale.example.com"], check=True, capture_output=True)
random.seed(7)
responders = [subprocess.Popen([f"{build}/tests/bench_http_responder", "127.0.0.1", "25480"]),
              subprocess.Popen([f"{build}/tests/bench_http_responder", "127.0.0.1", "25482", f"{tmp}/cert.pem", f"{tmp}/key.pem"])]


def zone(clusters):
    out = ["zone: scale.example.com", "soa: { mname: ns1.scale.example.com, rname: h.scale.example.com }",
           "ns: [ns1.scale.example.com]", "records: |\n  ns1 IN A 127.0.0.1", "clusters:"]
    for name, (tls, interval, members) in sorted(clusters.items()):
        health = (f"health: {{ scheme: https, ca_file: {tmp}/cert.pem, server_name: probe.scale.example.com, "
                  f"interval: {interval}ms, timeout: 150ms }}" if tls else f"health: {{ interval: {interval}ms, timeout: 150ms }}")
        out += [f"  - name: {name}", f"    {health}", f"    client_port: {25482 if tls else 25480}", "    members:"]
        out += [f"      - {{ name: {m}, host: {m}.{name}.scale.example.com, addresses: [127.0.0.1] }}" for m in sorted(members)]
    return "\n".join(out) + "\n"


clusters = {f"c{i:02d}": (i % 2 == 0, 1000, {f"m{j:02d}" for j in range(20)}) for i in range(50)}
with open(f"{tmp}/zones/scale.yaml", "w") as f:
    f.write(zone(clusters))
with open(f"{tmp}/dnsd.yaml", "w") as f:
    f.write('listen: ["127.0.0.1:25454"]\nzones: ["zones/*.yaml"]\nstate_dir: state\nworkers: 1\n'
            'control: { listen: "127.0.0.1:25481" }\n')
log = open(f"{tmp}/log", "w")
dnsd = subprocess.Popen([f"{build}/dnsd", "run", "-c", f"{tmp}/dnsd.yaml"], stderr=log, stdout=log)
time.sleep(3)
for step in range(150):
    name = random.choice(sorted(clusters))
    tls, interval, members = clusters[name]
    kind = random.random()
    if kind < 0.5:  # a registration-like change: one member in or out
        members = set(members)
        if random.random() < 0.5 and members:
            members.discard(random.choice(sorted(members)))
        else:
            members.add(f"n{step}")
        clusters[name] = (tls, interval, members)
    elif kind < 0.65:
        clusters[name] = (tls, random.choice([800, 1000, 1200]), members)
    elif kind < 0.8:
        del clusters[name]
    else:
        clusters[f"x{step}"] = (random.random() < 0.5, 1000, {f"m{j}" for j in range(random.randint(1, 10))})
    with open(f"{tmp}/zones/scale.yaml", "w") as f:
        f.write(zone(clusters))
    dnsd.send_signal(signal.SIGHUP)
    time.sleep(0.2)
    if dnsd.poll() is not None:
        break
time.sleep(float(os.environ.get("SETTLE", "30")))
alive = dnsd.poll() is None
states = []
if alive:
    z = json.loads(urllib.request.urlopen("http://127.0.0.1:25481/v1/zones", timeout=30).read())
    states = [m["health"] for c in z["zones"][0]["clusters"] for m in c["members"]]
expected = sum(len(m) for _, _, m in clusters.values())
dnsd.terminate()
code = dnsd.wait(30)
for r in responders:
    r.kill()
reports = sum(line.count("Sanitizer") + line.count("runtime error") for line in open(f"{tmp}/log", errors="replace"))
print(f"members {len(states)} of {expected}: {dict((s, states.count(s)) for s in sorted(set(states)))}; "
      f"dnsd exit {code}; sanitizer reports {reports}; log {tmp}/log")
sys.exit(0 if alive and code == 0 and reports == 0 and states.count("healthy") == expected else 1)
