#!/usr/bin/python3
"""`dnsd verify` agrees with real etcd: for each zone of tests/integration/verify_cases.py, served on
127.0.0.1:53 inside a private namespace by Knot DNS (or, for wire-level faults, by the crafted
responder), three etcd 3.4 members are started with --discovery-srv; whether they bootstrap one
cluster of three must be the outcome recorded there, and `dnsd verify` (run for each member) must
say the same. Usage: verify_agrees.py SCENARIO --dnsd PATH."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from crafted_dns import Server  # noqa: E402
from harness import main, wait_until  # noqa: E402
from verify_cases import CASES, MEMBERS, ORIGIN, verify_args, zone_file  # noqa: E402


def serve(h, case, how, zone):
    """Serves the zone on 127.0.0.1:53; returns a stop function."""
    if how == "crafted":
        server = Server(zone, 53)
        return server.stop
    d = h.path(f"knot-{case}")
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/zone", "w") as f:
        f.write(zone_file(zone))
    with open(f"{d}/knot.conf", "w") as f:
        f.write(f"server:\n    rundir: {d}\n    listen: 127.0.0.1@53\ndatabase:\n    storage: {d}\n"
                f"zone:\n  - domain: {ORIGIN}\n    file: {d}/zone\n    semantic-checks: off\n")
    knot = h.spawn(f"knot-{case}", ["knotd", "-c", f"{d}/knot.conf"])
    wait_until("Knot to answer", lambda: h.dig("127.0.0.1", 53, "SOA", ORIGIN), 15, 0.1)
    return knot.stop


def bootstrapped(h, case):
    """Starts the three members; True when they form one healthy cluster of three, False as soon as
    one exits (etcd gives up on a bad discovery) or after 60 s."""
    procs = [h.start_etcd(name, host, ip, ORIGIN, "c1", token=f"token-{case}", data_dir=h.path(f"data-{case}-{name}"))
             for name, host, ip in MEMBERS]
    endpoints = ",".join(f"http://{ip}:2379" for _, _, ip in MEMBERS)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if any(not p.alive() for p in procs):
                return False
            r = subprocess.run(["etcdctl", "--endpoints", endpoints, "--dial-timeout", "1s", "--command-timeout", "2s",
                                "endpoint", "health"], capture_output=True, text=True, timeout=20,
                               env=dict(os.environ, ETCDCTL_API="3"))
            if sum("is healthy" in line for line in (r.stdout + r.stderr).splitlines()) == 3:
                members = subprocess.run(["etcdctl", "--endpoints", endpoints, "member", "list"], capture_output=True,
                                         text=True, timeout=20, env=dict(os.environ, ETCDCTL_API="3"))
                return len(members.stdout.strip().splitlines()) == 3
            time.sleep(0.5)
        return False
    finally:
        for p in procs:
            p.stop()


def verify_agrees_with_etcd(h):
    disagreements = []
    for case, (build, how, recorded) in CASES.items():
        stop = serve(h, case, how, build())
        try:
            codes = []
            for m in MEMBERS:
                r = subprocess.run([h.dnsd_bin, "verify", "--server", "127.0.0.1:53", *verify_args(m)],
                                   capture_output=True, text=True, timeout=30)
                codes.append(r.returncode)
                if r.returncode not in (0, 1):
                    disagreements.append(f"{case}: verify exit {r.returncode}: {r.stdout} {r.stderr}")
            verdict = all(c == 0 for c in codes)
            etcd = bootstrapped(h, case)
        finally:
            stop()
        print(f"{case} ({how}): etcd {'bootstrapped' if etcd else 'did not bootstrap'}, verify exit codes {codes}")
        if etcd != recorded:
            disagreements.append(f"{case}: etcd {'bootstrapped' if etcd else 'failed'}, recorded {recorded}")
        if verdict != etcd:
            disagreements.append(f"{case}: verify says {verdict}, etcd {etcd}")
    assert not disagreements, "\n".join(disagreements)


if __name__ == "__main__":
    sys.exit(main({"verify_agrees_with_etcd": verify_agrees_with_etcd}))
