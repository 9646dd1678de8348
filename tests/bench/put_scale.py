#!/usr/bin/python3
"""What a change costs as the zone grows (issue: the cost of a change depends on the change, not on
the zone). One zone of CLUSTERS clusters with registration on; for each level N (100, 1,000, 10,000
registered members, written to state_dir before dnsd starts) dnsd is started, then SAMPLES members
are registered one at a time, each PUT followed by a UDP query for the new member's A record until it
answers (asked from the moment the PUT is sent, every other sample; the others time the 2xx alone).
Prints PUT-to-2xx and PUT-to-visible (median, p99) per level, and the start-up time and RSS with N
members. The first PUT after a start builds the zone index the patches use (an O(zone) step, once).
TRANSFERS=1 allows zone transfers from loopback (each change then also goes into the IXFR journal). Not
part of `make test`.

Usage: tests/bench/put_scale.py [build dir] [levels, e.g. 100,1000,10000] [samples] [clusters]
"""
import http.client
import os
import random
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.abspath(__file__)) + "/../.."
ZONE = "scale.example.com"
TOKEN = "bench-token-0123456789abcdef"


def fnv1a_hex(data):
    h = 1469598103934665603
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def member_line(i, clusters):
    c = i % clusters + 1
    return "member %s. c%d m%d m%d.c%d.%s. - - 10.%d.%d.%d\n" % (
        ZONE, c, i, i, c, ZONE, (i >> 16) & 255, (i >> 8) & 255, i & 255)


def write_setup(tmp, port, control, clusters, registered):
    os.makedirs(tmp + "/zones", exist_ok=True)
    os.makedirs(tmp + "/state", exist_ok=True)
    with open(tmp + "/token", "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(tmp + "/token", 0o600)
    with open(tmp + "/dnsd.yaml", "w") as f:
        f.write('listen: ["127.0.0.1:%d"]\nzones: ["zones/*.yaml"]\nstate_dir: state\nworkers: 1\n'
                'control: { listen: "127.0.0.1:%d", token_file: token }\n' % (port, control))
    with open(tmp + "/zones/scale.yaml", "w") as f:
        f.write("zone: %s\nsoa: { mname: ns1.%s, rname: hostmaster.%s }\nns: [ns1.%s]\n"
                "records: |\n  ns1 IN A 192.0.2.53\nclusters:\n" % (ZONE, ZONE, ZONE, ZONE))
        for c in range(1, clusters + 1):
            f.write("  - { name: c%d, registration: true, members: [] }\n" % c)
        if os.environ.get("TRANSFERS") == "1":
            f.write("transfer:\n  allow:\n    - { address: 127.0.0.0/8 }\n")
    body = "dnsd-registrations 1\n" + "".join(member_line(i, clusters) for i in range(registered))
    text = body + "end %d %s\n" % (registered, fnv1a_hex(body.encode()))
    with open(tmp + "/state/registrations", "w") as f:
        f.write(text)


def query(port, name, qtype=1, timeout=0.2):
    qid = random.randrange(65536)
    msg = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        msg += bytes([len(label)]) + label.encode()
    msg += b"\0" + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(msg, ("127.0.0.1", port))
        reply = s.recv(4096)
    return reply[3] & 15, struct.unpack(">H", reply[6:8])[0]  # rcode, ancount


def start(build, tmp, port):
    t0 = time.monotonic()
    proc = subprocess.Popen([build + "/dnsd", "run", "-c", tmp + "/dnsd.yaml"],
                            stdout=subprocess.DEVNULL, stderr=open(tmp + "/dnsd.log", "w"))
    while True:
        if proc.poll() is not None:
            sys.exit("dnsd exited: " + open(tmp + "/dnsd.log").read())
        try:
            # A short wait: a query sent before the port is bound is lost without a word (an
            # unconnected UDP socket is told nothing of the ICMP error), and 0.2 s each was the
            # start-up time this printed.
            if query(port, ZONE, 6, 0.005)[0] == 0:
                break
        except OSError:
            pass
        time.sleep(0.002)
    started = time.monotonic() - t0
    rss = int([l for l in open("/proc/%d/status" % proc.pid) if l.startswith("VmRSS")][0].split()[1])
    return proc, started, rss


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else SRC + "/build")
    levels = [int(n) for n in (sys.argv[2] if len(sys.argv) > 2 else "100,1000,10000").split(",")]
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    clusters = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
    port, control = random.randrange(20000, 30000), random.randrange(30000, 40000)
    rows = []
    for level in levels:
        tmp = tempfile.mkdtemp()
        try:
            write_setup(tmp, port, control, clusters, level)
            proc, started, rss = start(build, tmp, port)
            conn = http.client.HTTPConnection("127.0.0.1", control, timeout=30)
            to_2xx, to_visible = [], []
            for k in range(samples):
                i = 1000000 + k
                c = random.randrange(clusters) + 1
                host = "n%d.c%d.%s" % (i, c, ZONE)
                body = '{"host": "%s", "addresses": ["10.200.%d.%d"]}' % (host, (k >> 8) & 255, k & 255)
                # Even samples: the time to the 2xx; odd ones: the time until a query answers with
                # the new member, asked again and again from the moment the PUT is sent (the answer
                # can come before the 2xx: the serial is written in between).
                t0 = time.monotonic()
                conn.request("PUT", "/v1/zones/%s/clusters/c%d/members/n%d" % (ZONE, c, i), body,
                             {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
                if k % 2:
                    while query(port, host)[1] == 0:
                        pass
                    to_visible.append((time.monotonic() - t0) * 1000)
                reply = conn.getresponse()
                reply.read()
                if k % 2 == 0:
                    to_2xx.append((time.monotonic() - t0) * 1000)
                if reply.status not in (200, 201):
                    sys.exit("PUT refused: %d" % reply.status)
                if query(port, host)[1] == 0:
                    sys.exit("not visible after the 2xx")
            proc.terminate()
            proc.wait()
            rows.append((level, statistics.median(to_2xx), pct(to_2xx, 99), statistics.median(to_visible),
                         pct(to_visible, 99), started, rss // 1024))
        finally:
            shutil.rmtree(tmp)
    print("%d clusters in one zone, %d registrations per level (PUT over one keep-alive connection)\n" % (clusters, samples))
    print("| registered members | PUT to 2xx median | p99 | PUT to visible median | p99 | start to first answer | RSS |")
    print("|---|---|---|---|---|---|---|")
    for level, m2, p2, mv, pv, started, rss in rows:
        print("| %s | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.2f s | %d MiB |" % (
            format(level, ","), m2, p2, mv, pv, started, rss))


if __name__ == "__main__":
    main()
