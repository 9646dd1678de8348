#!/usr/bin/python3
"""dnsd as a secondary of dnsd, both the real binary on loopback: the copy equals the primary's AXFR;
a change reaches it by NOTIFY and IXFR (incremental); NOTIFYs from others, or unsigned when the primary
has a key, are REFUSED; UPDATE to the secondary is REFUSED; with the primary killed it keeps answering,
also after a restart (from its copy on disk); past the SOA expire it answers SERVFAIL, and again once the
primary is back; a secondary that never got a copy answers SERVFAIL; `dnsd check` accepts it; a copy
file damaged on disk is never served. Usage: secondary_test.py DNSD"""
import json
import os
import re
import subprocess
import sys
import time

from checks import check, failures, free_port, temp_dir

DNSD = sys.argv[1]
KEY = "xfr-key"
SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="
TSIG = ["-y", f"hmac-sha256:{KEY}:{SECRET}"]
ZONE = "lab.example.com"


def dig(port, *args, source="127.0.0.1"):
    r = subprocess.run(["dig", f"@127.0.0.1", "-p", str(port), "-b", source, "+time=2", "+tries=1", *args],
                       capture_output=True, text=True, timeout=30)
    return r.stdout + r.stderr


def records(port, *args):
    """The zone's AXFR as sorted lines (TSIG left out), names lower-cased."""
    r = subprocess.run(["kdig", "@127.0.0.1", "-p", str(port), "+timeout=3", "+retry=0", *TSIG, *args, "AXFR", ZONE],
                       capture_output=True, text=True, timeout=30)
    return sorted(" ".join(line.lower().split()) for line in r.stdout.splitlines()
                  if line and not line.startswith(";") and "\ttsig\t" not in line.lower())


class Server:
    def __init__(self, tmp, name, zone_text):
        self.dir = f"{tmp}/{name}"
        os.makedirs(f"{self.dir}/zones", exist_ok=True)
        self.port = free_port()
        self.zone(zone_text)
        with open(f"{self.dir}/dnsd.yaml", "w") as f:
            f.write(f'listen: ["127.0.0.1:{self.port}"]\nzones: ["zones/*.yaml"]\nstate_dir: state\nworkers: 1\n'
                    f'control: {{ listen: "127.0.0.1:{free_port()}" }}\n'
                    f'tsig_keys:\n  - {{ name: {KEY}, algorithm: hmac-sha256, secret: "{SECRET}" }}\n')
        self.proc = None

    def zone(self, text):
        with open(f"{self.dir}/zones/lab.yaml", "w") as f:
            f.write(text)

    def start(self, wait_for="status: NOERROR"):
        with open(f"{self.dir}/dnsd.log", "a") as log:
            self.proc = subprocess.Popen([DNSD, "run", "-c", f"{self.dir}/dnsd.yaml"], stdout=log, stderr=subprocess.STDOUT)
        for _ in range(200):
            if wait_for in dig(self.port, "SOA", ZONE):
                return True
            time.sleep(0.05)
        return False

    def stop(self, kill=False):
        if kill:
            self.proc.kill()
            self.proc.wait(10)
            return
        self.proc.terminate()
        rc = self.proc.wait(10)
        text = self.log()
        check(f"{os.path.basename(self.dir)} stopped cleanly", rc == 0 and "runtime error" not in text and "Sanitizer" not in text,
              text[-2000:])

    def log(self):
        return open(f"{self.dir}/dnsd.log").read()

    def get(self, path):
        port = re.search(r'control: \{ listen: "127.0.0.1:(\d+)"', open(f"{self.dir}/dnsd.yaml").read()).group(1)
        r = subprocess.run(["curl", "-s", f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, timeout=10)
        return r.stdout

    def metrics(self):
        return self.get("/metrics")


def serial(port):
    out = dig(port, "+short", "SOA", ZONE).split()
    return int(out[2]) if len(out) > 2 else None


def wait_until(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def primary_zone(secondary_port, extra=""):
    return (f"zone: {ZONE}\nsoa: {{ mname: ns1.{ZONE}, rname: h.example.org, refresh: 2, retry: 1, expire: 10 }}\n"
            f"ns: [ns1.{ZONE}]\nrecords: |\n  ns1 IN A 127.0.0.1\n  www IN A 127.0.0.80\n{extra}"
            "clusters:\n  - name: c1\n    members:\n"
            + "".join(f"      - {{ name: m{i}, host: m{i}.c1.{ZONE}, addresses: [127.0.1.{i}] }}\n" for i in range(1, 4))
            + f"transfer:\n  allow:\n    - {{ address: 127.0.0.0/8, key: {KEY} }}\n"
            f"  notify:\n    - {{ address: \"127.0.0.1:{secondary_port}\", key: {KEY} }}\n")


def secondary_zone(primary_port):
    return (f"zone: {ZONE}\nprimaries:\n  - {{ address: \"127.0.0.1:{primary_port}\", key: {KEY} }}\n"
            f"transfer:\n  allow:\n    - {{ address: 127.0.0.0/8, key: {KEY} }}\n")


def main():
    tmp = temp_dir("dnsd-secondary-")
    secondary = Server(tmp, "secondary", "")
    primary = Server(tmp, "primary", primary_zone(secondary.port))
    secondary.zone(secondary_zone(primary.port))

    # Before any copy: SERVFAIL (the primary is not running yet), and `dnsd check` accepts the zone.
    r = subprocess.run([DNSD, "check", "-c", f"{secondary.dir}/dnsd.yaml"], capture_output=True, text=True, timeout=30)
    check("dnsd check accepts a secondary zone without a copy (exit 0)", r.returncode == 0, r.stdout + r.stderr)
    check("a secondary without a copy answers SERVFAIL", secondary.start(wait_for="status: SERVFAIL"), secondary.log()[-800:])
    try:
        check("primary started", primary.start(), primary.log()[-800:])
        # The primary's NOTIFY at its start (or the secondary's retry) brings the first copy.
        got = wait_until(lambda: serial(secondary.port) == serial(primary.port), 15)
        check("the secondary transfers the zone and serves the primary's serial", got,
              f"{serial(secondary.port)} vs {serial(primary.port)}: {secondary.log()[-800:]}")
        out = dig(secondary.port, "SRV", f"_etcd-server-ssl-c1._tcp.{ZONE}")
        check("its answers are authoritative and complete", " aa" in out.split("flags:")[1].split(";")[0]
              and out.count("IN\tSRV ") == 3, out)
        p, s = records(primary.port), records(secondary.port)
        check("the secondary's AXFR (onward, signed) equals the primary's", p == s and len(p) > 10, (len(p), len(s)))

        # A change: NOTIFY, then IXFR with the difference alone.
        before = serial(primary.port)
        primary.zone(primary_zone(secondary.port, "  new IN A 127.0.0.81\n"))
        started = time.monotonic()
        primary.proc.send_signal(1)
        wait_until(lambda: serial(primary.port) != before, 10)
        got = wait_until(lambda: "127.0.0.81" in dig(secondary.port, "+short", "A", f"new.{ZONE}"), 10)
        ms = (time.monotonic() - started) * 1000
        print(f"     change on the primary visible on the secondary after {ms:.0f} ms")
        check("a change reaches the secondary by NOTIFY within 2 s", got and ms < 2000, f"{ms:.0f} ms")
        check("by IXFR, incrementally", re.search(r"secondary: lab\.example\.com\. serial \d+ from \S+ by ixfr:", secondary.log())
              is not None, secondary.log()[-800:])
        metrics = secondary.metrics()
        check("metrics: transfers in by type and result, the serial held, not expired",
              re.search(r'dnsd_transfers_in_total\{zone="lab.example.com.",type="ixfr",result="ok"\} [1-9]', metrics)
              and f'dnsd_secondary_serial{{zone="lab.example.com."}} {serial(primary.port)}' in metrics
              and 'dnsd_secondary_expired{zone="lab.example.com."} 0' in metrics, metrics[-1500:])

        zone = json.loads(secondary.get(f"/v1/zones/{ZONE}"))["secondary"]
        check("/v1/zones on the secondary: its primaries, the serial held, not expired, no error",
              zone["serial"] == serial(primary.port) and zone["expired"] is False and zone["last_error"] == ""
              and zone["primaries"] == [f"127.0.0.1:{primary.port}"], zone)
        notify = json.loads(primary.get(f"/v1/zones/{ZONE}"))["notify"]
        check("/v1/zones on the primary: the NOTIFY target, its last serial answered",
              notify == [{"target": f"127.0.0.1:{secondary.port}", "waiting": False, "last_serial": serial(primary.port),
                          "last_result": "answered"}], notify)

        # NOTIFY: from the primary's address and signed with its key: NOERROR, AA; anything else REFUSED.
        out = dig(secondary.port, "+opcode=notify", *TSIG, "SOA", ZONE)
        check("a signed NOTIFY from the primary's address: NOERROR with AA", "status: NOERROR" in out
              and " aa" in out.split("flags:")[1].split(";")[0], out)
        check("an unsigned NOTIFY from the primary's address (its rule has a key): REFUSED",
              "status: REFUSED" in dig(secondary.port, "+opcode=notify", "SOA", ZONE))
        check("a signed NOTIFY from another address: REFUSED",
              "status: REFUSED" in dig(secondary.port, "+opcode=notify", *TSIG, "SOA", ZONE, source="127.0.0.5"))
        check("a NOTIFY to the primary (a primary zone): REFUSED",
              "status: REFUSED" in dig(primary.port, "+opcode=notify", *TSIG, "SOA", ZONE))
        nsupdate = subprocess.run(["nsupdate", *TSIG], input=f"server 127.0.0.1 {secondary.port}\nzone {ZONE}\n"
                                  f"update add x.{ZONE} 60 A 127.0.0.9\nsend\n", capture_output=True, text=True, timeout=30)
        check("a signed UPDATE to the secondary: REFUSED", "REFUSED" in nsupdate.stdout + nsupdate.stderr,
              nsupdate.stdout + nsupdate.stderr)

        # The primary dies: the secondary keeps answering, also after its own restart (from disk).
        held = serial(secondary.port)
        primary.stop(kill=True)
        check("primary killed: the secondary still answers", "127.0.0.81" in dig(secondary.port, "+short", "A", f"new.{ZONE}"))
        secondary.stop()
        check("the secondary restarted with the primary down answers from its copy",
              secondary.start() and serial(secondary.port) == held
              and "127.0.0.81" in dig(secondary.port, "+short", "A", f"new.{ZONE}"), secondary.log()[-800:])
        # Past SOA expire (10 s) without a successful check: SERVFAIL.
        got = wait_until(lambda: "status: SERVFAIL" in dig(secondary.port, "A", f"www.{ZONE}"), 15)
        check("past the SOA expire with the primary down: SERVFAIL", got,
              secondary.log()[-800:])
        check("expiry shows in the metrics", 'dnsd_secondary_expired{zone="lab.example.com."} 1' in secondary.metrics())
        check("primary restarted", primary.start(), primary.log()[-800:])
        got = wait_until(lambda: "127.0.0.80" in dig(secondary.port, "+short", "A", f"www.{ZONE}"), 10)
        check("the primary back: the secondary answers again", got, secondary.log()[-800:])
    finally:
        for server in (secondary, primary):
            if server.proc and server.proc.poll() is None:
                server.stop()

    # A copy damaged on disk is never served: the secondary starts without it (SERVFAIL, primary down).
    path = f"{secondary.dir}/state/secondary/lab.example.com.copy"
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))
    check("a damaged copy on disk: SERVFAIL, not its records", secondary.start(wait_for="status: SERVFAIL"), secondary.log()[-800:])
    check("and the damage is logged", "damaged" in secondary.log(), secondary.log()[-800:])
    secondary.stop()
    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
