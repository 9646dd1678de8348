#!/usr/bin/python3
"""Zone transfers out and NOTIFY against the real binary on loopback (kdig checks every TSIG of a
multi-message AXFR): a zone too big for one message, IXFR over UDP (the SOA alone), AXFR over UDP
(NOTIMP), a zone without rules (REFUSED), NOTIFY to a target that answers (once, signed, within
100 ms of a change, a burst coalesced) and to one that does not (retried). Usage: transfer_test.py DNSD"""
import datetime
import os
import re
import socket
import struct
import subprocess
import sys
import time

from checks import check, failures, free_port, temp_dir

DNSD = sys.argv[1]
KEY = "xfr-key"
SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="


def kdig(port, *args):
    r = subprocess.run(["kdig", "@127.0.0.1", "-p", str(port), "+timeout=2", "+retry=0", *args],
                       capture_output=True, text=True, timeout=30)
    return r.stdout + r.stderr


def zone(members, notify):
    lines = ["zone: lab.example.com", "soa: { mname: ns1.lab.example.com, rname: h.example.org }",
             "ns: [ns1.lab.example.com]", "records: |", "  ns1 IN A 127.0.0.1", "transfer:", "  allow:",
             f"    - {{ address: 127.0.0.0/8, key: {KEY} }}", "    - { address: 127.0.0.2 }", "  notify:"]
    lines += [f"    - {{ address: \"127.0.0.1:{p}\", key: {KEY} }}" for p in notify] or ["    []"]
    lines += ["clusters:"] if members else []
    for c in range(members // 500):  # an SRV set of 500 fits 64 KiB; the zone does not
        lines += [f"  - name: c{c}", "    members:"]
        lines += [f"      - {{ name: m{i}, host: m{i}.c{c}.lab.example.com, addresses: [127.{c}.{i // 250}.{i % 250 + 1}] }}"
                  for i in range(500)]
    return "\n".join(lines) + "\n"


def start(tmp, zones):
    """dnsd serving `zones` ({file name: YAML}) on a free port: (process, port, log path)."""
    os.makedirs(f"{tmp}/zones")
    for name, text in zones.items():
        with open(f"{tmp}/zones/{name}", "w") as f:
            f.write(text)
    port = free_port()
    with open(f"{tmp}/dnsd.yaml", "w") as f:
        f.write(f'listen: ["127.0.0.1:{port}"]\nzones: ["zones/*.yaml"]\nstate_dir: state\nworkers: 1\n'
                f'tsig_keys:\n  - {{ name: {KEY}, algorithm: hmac-sha256, secret: "{SECRET}" }}\n')
    with open(f"{tmp}/dnsd.log", "w") as log:
        dnsd = subprocess.Popen([DNSD, "run", "-c", f"{tmp}/dnsd.yaml"], stdout=log, stderr=subprocess.STDOUT)
    for _ in range(200):
        if "status: NOERROR" in kdig(port, "SOA", "lab.example.com"):
            break
        time.sleep(0.05)
    return dnsd, port, f"{tmp}/dnsd.log"


def stop(dnsd, log_path):
    dnsd.terminate()
    rc = dnsd.wait(10)
    text = open(log_path).read()
    check("dnsd stopped cleanly", rc == 0 and "runtime error" not in text and "Sanitizer" not in text, text[-2000:])


def transfers():
    other = ("zone: other.example.com\nsoa: { mname: ns1.other.example.com, rname: h.example.org }\n"
             "ns: [ns1.other.example.com]\nrecords: |\n  ns1 IN A 127.0.0.1\n")
    tmp = temp_dir("dnsd-xfr-")
    dnsd, port, log_path = start(tmp, {"lab.yaml": zone(1500, []), "other.yaml": other})
    try:
        key = ["-y", f"hmac-sha256:{KEY}:{SECRET}"]
        # A zone over 64 KiB: several messages, each signed (kdig verifies every TSIG present and fails on
        # a bad one, but lets unsigned messages through, as RFC 8945 §5.3.1 allows up to 99: so the TSIG
        # RRs it prints are counted too).
        out = kdig(port, *key, "AXFR", "lab.example.com")
        records = sum(1 for line in out.splitlines() if line and not line.startswith(";") and "\tTSIG\t" not in line)
        signatures = sum(1 for line in out.splitlines() if "\tTSIG\t" in line)
        messages = int(out.split("(")[1].split(" messages")[0]) if " messages" in out else 0
        check("a signed AXFR of 1,500 members: every record, several messages, each signed and verified",
              records == 1 + 1 + 1 + 3 * 1500 + 1 and messages > 1 and signatures == messages
              and "ERROR" not in out.replace("NOERROR", ""),
              f"{records} records, {messages} messages, {signatures} signatures: {out[-300:]}")
        check("an unsigned AXFR from an address with an unsigned rule (127.0.0.2)",
              "Received" in kdig(port, "-b", "127.0.0.2", "AXFR", "lab.example.com"))
        check("an unsigned AXFR from an address whose rule wants a key: REFUSED",
              "REFUSED" in kdig(port, "AXFR", "lab.example.com"))
        check("AXFR over UDP (signed or not): NOTIMP", "NOTIMP" in kdig(port, *key, "+notcp", "AXFR", "lab.example.com")
              and "NOTIMP" in kdig(port, "-b", "127.0.0.2", "+notcp", "AXFR", "lab.example.com"))
        serial = int(kdig(port, "+short", "SOA", "lab.example.com").split()[2])
        out = kdig(port, *key, "+notcp", f"IXFR={serial - 5}", "lab.example.com")
        check("IXFR over UDP: the SOA alone", "(1 messages, 1 records)" in out, out[-300:])
        out = kdig(port, *key, f"IXFR={serial}", "lab.example.com")
        check("IXFR at the current serial: the SOA alone", "(1 messages, 1 records)" in out, out[-300:])
        # A change: IXFR from the old serial is the difference alone (RFC 1995 §4: new SOA, old SOA,
        # what went, new SOA, what came, new SOA), not the 4,500 records.
        text = open(f"{tmp}/zones/lab.yaml").read().replace("  ns1 IN A 127.0.0.1\n", "  ns1 IN A 127.0.0.1\n  www IN A 127.0.0.80\n", 1)
        with open(f"{tmp}/zones/lab.yaml", "w") as f:
            f.write(text)
        dnsd.send_signal(1)
        for _ in range(100):
            if "127.0.0.80" in kdig(port, "+short", "A", "www.lab.example.com"):
                break
            time.sleep(0.05)
        out = kdig(port, *key, f"IXFR={serial}", "lab.example.com")
        check("IXFR after a change: the change alone", "(1 messages, 5 records)" in out and "127.0.0.80" in out, out[-400:])
        check("AXFR of a zone without transfer rules: REFUSED", "REFUSED" in kdig(port, *key, "AXFR", "other.example.com"))
        check("transfers logged", "transfer: axfr lab.example.com." in open(log_path).read())
        # A crowd of refused requests is counted, not logged line by line: at most 20 lines a second.
        axfr = struct.pack("!HHHHHH", 7, 0, 1, 0, 0, 0) + b"\x03lab\x07example\x03com\x00\x00\xfc\x00\x01"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall((struct.pack("!H", len(axfr)) + axfr) * 100)
            got = b""
            while got.count(b"\x03lab\x07example\x03com") < 100:
                got += c.recv(65536)
        time.sleep(1.1)
        kdig(port, "AXFR", "lab.example.com")  # the next second's first refusal reports the last one's
        text = open(log_path).read()
        check("100 refused transfers: at most 20 lines a second, the rest counted",
              text.count("refused (unsigned") <= 40 and re.search(r"transfer: \d+ refusals not logged", text) is not None,
              text[-600:])
    finally:
        stop(dnsd, log_path)


def reply_to(sock, msg, peer):
    """Answers a NOTIFY as a secondary does: the header with QR set and NOERROR, the question."""
    sock.sendto(msg[:2] + bytes([msg[2] | 0x80, 0]) + msg[4:6] + bytes(6) + msg[12:12 + len(b"\x03lab\x07example\x03com\x00") + 4],
                peer)


def notifies():
    answering, silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    answering.bind(("127.0.0.1", 0))
    silent.bind(("127.0.0.1", 0))
    tmp = temp_dir("dnsd-notify-")
    dnsd, port, log_path = start(tmp, {"lab.yaml": zone(0, [answering.getsockname()[1], silent.getsockname()[1]])})
    try:
        # The start announces the zone to both targets; the answering one replies.
        answering.settimeout(3)
        msg, peer = answering.recvfrom(4096)
        check("NOTIFY at start: opcode NOTIFY, AA, the zone's SOA as question, signed",
              (msg[2] >> 3) & 0xF == 4 and msg[2] & 0x04 and b"\x03lab\x07example\x03com\x00\x00\x06\x00\x01" in msg
              and struct.unpack("!H", msg[10:12])[0] == 1 and b"xfr-key" in msg, msg.hex())
        reply_to(answering, msg, peer)
        # A burst of changes (three reloads in a row): NOTIFY within 100 ms, the burst coalesced.
        started = time.monotonic()
        for i in range(3):
            text = open(f"{tmp}/zones/lab.yaml").read().replace("  ns1 IN A 127.0.0.1\n", f"  ns1 IN A 127.0.0.1\n  n{i} IN A 127.0.0.9\n", 1)
            with open(f"{tmp}/zones/lab.yaml", "w") as f:
                f.write(text)
            dnsd.send_signal(1)
            time.sleep(0.003)
        notified, first_wall = [], None
        answering.settimeout(0.5)
        try:
            while True:
                msg, peer = answering.recvfrom(4096)
                notified.append((time.monotonic() - started) * 1000)
                first_wall = first_wall or time.time()
                reply_to(answering, msg, peer)
        except socket.timeout:
            pass
        # Within 100 ms of the change being served: from the first reload's publish (its log line),
        # not from the SIGHUP (reading and compiling the config come first, slower on a busy machine).
        reloaded = [datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f").timestamp()  # local time, as logged
                    for line in open(log_path) if "control: reloaded" in line]
        after_publish = (first_wall - reloaded[0]) * 1000 if first_wall and reloaded else None
        check("a burst of three reloads: NOTIFY within 100 ms of the first publish, fewer than three",
              1 <= len(notified) <= 2 and after_publish is not None and after_publish < 100, (notified, after_publish))
        # The silent target got the burst's NOTIFY too; with nothing changing since, what it gets next
        # is a retry (the first 1 s after the send).
        silent.setblocking(False)
        drained = 0
        try:
            while True:
                silent.recvfrom(4096)
                drained += 1
        except BlockingIOError:
            pass
        got = 0
        silent.settimeout(0.2)
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            try:
                silent.recvfrom(4096)
                got += 1
            except socket.timeout:
                pass
        check("an unanswered NOTIFY is sent again", drained >= 1 and got >= 1, (drained, got))
    finally:
        stop(dnsd, log_path)


def main():
    transfers()
    notifies()
    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
