#!/usr/bin/python3
"""What a crowd of slow or hostile clients can take from dnsd, measured against the real binary on
loopback (the scenarios of the "Limits under load and abuse" contract). Prints a table:

1. control endpoint: 2,000 connections from 20 addresses trickling header bytes; how long /healthz and
   an authorised PUT take meanwhile, and how soon the slow connections are gone;
2. DNS over TCP: 2,000 connections from 60 addresses trickling a message; how long `dig +tcp` takes;
3. memory: 1,800 TCP clients that send queries and never read (2 workers); RSS while they hold on and
   10 s after they leave;
4. UPDATE: a flood of forged-MAC and unsigned UPDATEs from another address; how many signed UPDATEs over
   TCP and over UDP are answered within 2 s.

Not part of `make test` (`tests/bench/abuse.py BUILD_DIR`). Uses /usr/bin/python3 and dig.
"""
import contextlib
import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../build"))
DNSD = os.path.join(BUILD, "dnsd")
DNS, CONTROL = 25501, 25502
TOKEN = "abuse-token"
KEY = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def start_dnsd(tmp, workers=2):
    os.makedirs(os.path.join(tmp, "zones"), exist_ok=True)
    with open(os.path.join(tmp, "token"), "w") as f:
        f.write(TOKEN + "\n")
    with open(os.path.join(tmp, "zones", "lab.yaml"), "w") as f:
        f.write("zone: lab.example.com\nsoa: { mname: ns1.lab.example.com, rname: h.lab.example.com }\n"
                "ns: [ns1.lab.example.com]\nupdate: { keys: [ddns-key] }\nrecords: |\n  ns1 IN A 192.0.2.53\n")
        for i in range(16):
            f.write(f'  big IN TXT "{i}{"x" * 240}"\n')
        f.write("clusters:\n  - name: r1\n    registration: true\n"
                "    members: [{ name: s1, host: s1.lab.example.com, addresses: [192.0.2.1] }]\n")
    with open(os.path.join(tmp, "dnsd.yaml"), "w") as f:
        f.write(f'listen: ["127.0.0.1:{DNS}"]\nzones: ["zones/*.yaml"]\nstate_dir: state\nworkers: {workers}\n'
                f'control: {{ listen: "127.0.0.1:{CONTROL}", token_file: token }}\nlog: {{ level: warn }}\n'
                f'tsig_keys:\n  - {{ name: ddns-key, algorithm: hmac-sha256, secret: "{KEY}" }}\n')
    p = subprocess.Popen([DNSD, "run", "-c", os.path.join(tmp, "dnsd.yaml")], stderr=open(os.path.join(tmp, "log"), "w"))
    for _ in range(100):
        if subprocess.run(["dig", "@127.0.0.1", "-p", str(DNS), "+short", "+time=1", "+tries=1", "lab.example.com", "SOA"],
                          capture_output=True).returncode == 0:
            return p
        time.sleep(0.1)
    raise SystemExit("dnsd did not start")


@contextlib.contextmanager
def dnsd_running():
    """dnsd on DNS and CONTROL for the length of a scenario, stopped (and its files removed) after."""
    with tempfile.TemporaryDirectory() as tmp:
        p = start_dnsd(tmp)
        try:
            yield p
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait()


def timed(fn):
    t = time.monotonic()
    ok = fn()
    return ok, time.monotonic() - t


def http(method, path, body="", token=None, timeout=5):
    s = socket.create_connection(("127.0.0.1", CONTROL), timeout=timeout)
    req = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
    if token:
        req += f"Authorization: Bearer {token}\r\n"
    s.sendall((req + "\r\n" + body).encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return int(data[9:12]) if data.startswith(b"HTTP/1.1 ") else 0


def connect_from(source, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    return s


def trickle(socks, first, byte, seconds):
    """Sends `first` on every socket, then one byte every 2 s each; returns when all are closed or after `seconds`."""
    for s in socks:
        try:
            s.send(first)
        except OSError:
            pass
    deadline = time.monotonic() + seconds
    open_ = list(socks)
    while open_ and time.monotonic() < deadline:
        time.sleep(2)
        still = []
        for s in open_:
            try:
                s.send(byte)
                try:
                    if s.recv(1, socket.MSG_DONTWAIT) == b"":
                        s.close()
                        continue
                except BlockingIOError:
                    pass
                still.append(s)
            except OSError:
                s.close()
        open_ = still
    return len(open_)


def control_scenario():
    with dnsd_running() as p:
        socks = [connect_from(f"127.0.2.{1 + i % 20}", CONTROL) for i in range(2000)]
        time.sleep(1)
        result = {}
        holder = threading.Thread(target=lambda: result.update(left=trickle(socks, b"GET /healthz HTTP/1.1\r\n", b"X", 14)))
        started = time.monotonic()
        holder.start()
        time.sleep(1)
        ok1, t1 = timed(lambda: http("GET", "/healthz") == 200)
        body = '{"host": "a1.lab.example.com", "addresses": ["192.0.2.9"]}'
        ok2, t2 = timed(lambda: http("PUT", "/v1/zones/lab.example.com/clusters/r1/members/a1", body, TOKEN) in (200, 201))
        holder.join()
        gone = time.monotonic() - started
        return [("control: 2,000 trickling connections from 20 addresses",
                 f"/healthz {'200' if ok1 else 'FAILED'} in {t1 * 1000:.0f} ms; PUT {'2xx' if ok2 else 'FAILED'} in {t2 * 1000:.0f} ms; "
                 f"{result.get('left', '?')} still open after {gone:.0f} s")]


def tcp_scenario():
    with dnsd_running() as p:
        socks = [connect_from(f"127.0.3.{1 + i % 60}", DNS) for i in range(2000)]
        time.sleep(1)
        holder = threading.Thread(target=lambda: trickle(socks, b"\x00\x28", b"\x00", 12))
        holder.start()
        time.sleep(1)
        times = []
        for _ in range(5):
            ok, t = timed(lambda: subprocess.run(["dig", "@127.0.0.1", "-p", str(DNS), "+tcp", "+time=2", "+tries=1",
                                                  "s1.lab.example.com", "A"], capture_output=True, text=True).stdout.count("192.0.2.1") > 0)
            times.append(t if ok else None)
            time.sleep(0.5)
        holder.join()
        answered = [t for t in times if t is not None]
        return [("DNS TCP: 2,000 trickling connections from 60 addresses",
                 f"dig +tcp answered {len(answered)}/5, slowest {max(answered) * 1000:.0f} ms" if answered else "dig +tcp FAILED")]


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return -1


def memory_scenario():
    with dnsd_running() as p:
        base = rss_mib(p.pid)
        q = struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 0) + b"\x03big\x03lab\x07example\x03com\x00" + struct.pack("!HH", 16, 1)
        burst = (struct.pack("!H", len(q)) + q) * 200
        socks = []
        for i in range(1800):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.bind((f"127.0.4.{1 + i % 20}", 0))
            s.connect(("127.0.0.1", DNS))
            s.setblocking(False)
            try:
                s.send(burst)
            except OSError:
                pass
            socks.append(s)
        time.sleep(3)
        held = rss_mib(p.pid)
        for s in socks:
            s.close()
        time.sleep(10)
        after = rss_mib(p.pid)
        return [("memory: 1,800 TCP clients that never read (2 workers)",
                 f"RSS {base:.0f} MiB at start, {held:.0f} MiB while they hold on, {after:.0f} MiB 10 s after they leave")]


def signed_update(name, secret, tcp):
    """nsupdate's answer to one add (exit status 0 = NOERROR), over TCP (-v) or UDP, within 2 s."""
    cmds = f"server 127.0.0.1 {DNS}\nzone lab.example.com\nupdate add {name} 60 A 192.0.2.9\nsend\n"
    argv = ["nsupdate", "-t", "2", "-u", "2", "-r", "0", "-y", f"hmac-sha256:ddns-key:{secret}"] + (["-v"] if tcp else [])
    try:
        return subprocess.run(argv, input=cmds, capture_output=True, text=True, timeout=4).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def update_scenario():
    with dnsd_running() as p:
        # Forged: a TSIG RR naming ddns-key with a MAC of zeros; and unsigned UPDATEs.
        zone = b"\x03lab\x07example\x03com\x00"
        rr = b"\x05forge" + zone + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 66])
        upd = struct.pack("!HHHHHH", 7, 5 << 11, 1, 0, 1, 0) + zone + struct.pack("!HH", 6, 1) + rr
        forged = bytearray(upd)
        forged[11] = 1
        tsig_rdata = b"\x0bhmac-sha256\x00" + struct.pack("!HIHH", 0, int(time.time()), 300, 32) + bytes(32) + struct.pack("!HHH", 7, 0, 0)
        forged += b"\x08ddns-key\x00" + struct.pack("!HHIH", 250, 255, 0, len(tsig_rdata)) + tsig_rdata
        stop = threading.Event()
        sent = [0]

        def flood():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.5.1", 0))
            s.setblocking(False)
            msgs = [bytes(forged), upd]
            while not stop.is_set():
                for _ in range(100):
                    try:
                        s.sendto(msgs[sent[0] % 2], ("127.0.0.1", DNS))
                        sent[0] += 1
                    except BlockingIOError:
                        pass
                try:
                    while s.recv(512):
                        pass
                except BlockingIOError:
                    pass
                time.sleep(0.001)
        t = threading.Thread(target=flood)
        t.start()
        time.sleep(0.5)
        start = time.monotonic()
        tcp_ok = sum(signed_update(f"t{i}.lab.example.com", KEY, True) for i in range(20))
        udp_ok = sum(signed_update(f"u{i}.lab.example.com", KEY, False) for i in range(50))
        rate = sent[0] / (time.monotonic() - start + 0.5)
        stop.set()
        t.join()
        forged_served = subprocess.run(["dig", "@127.0.0.1", "-p", str(DNS), "+short", "forge.lab.example.com"],
                                       capture_output=True, text=True).stdout.strip()
        return [("UPDATE: forged and unsigned flood from another address",
                 f"{rate / 1000:.0f}k forged/unsigned a second; signed answered within 2 s: TCP {tcp_ok}/20, UDP {udp_ok}/50; "
                 f"forged record served: {'YES' if forged_served else 'no'}")]


def main():
    raise_fd_limit()
    rows = []
    for scenario in (control_scenario, tcp_scenario, memory_scenario, update_scenario):
        rows += scenario()
        print(f"{scenario.__name__} done", file=sys.stderr)
    print("| scenario | result |")
    print("|---|---|")
    for name, result in rows:
        print(f"| {name} | {result} |")


if __name__ == "__main__":
    main()
