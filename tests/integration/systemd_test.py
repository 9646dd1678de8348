#!/usr/bin/python3
"""systemd's Type=notify protocol, with a NOTIFY_SOCKET of the test's own: READY=1 only once dnsd
answers, WATCHDOG=1 every half WATCHDOG_USEC, RELOADING=1 with MONOTONIC_USEC then READY=1 around a
SIGHUP (also when the reload is refused), STOPPING=1 on SIGTERM, a STATUS= line with each; then an
abstract socket (@name), and no watchdog when WATCHDOG_PID names another process.
Usage: systemd_test.py DNSD"""
import os
import signal
import socket
import subprocess
import sys
import time

from checks import check, failures, free_port, temp_dir, zone_head

DNSD = sys.argv[1]
ZONE = "lab.example.com"


def messages(sock, until, want=None):
    """Datagrams received until `until` (monotonic) or until one contains `want`; each as a dict."""
    got = []
    while time.monotonic() < until:
        sock.settimeout(max(0.01, until - time.monotonic()))
        try:
            data = sock.recv(4096).decode()
        except socket.timeout:
            break
        fields = dict(line.split("=", 1) for line in data.splitlines() if "=" in line)
        got.append(fields)
        if want and want in fields:
            break
    return got


def stop(proc, sock, which=""):
    """SIGTERM: STOPPING=1 on `sock`, then a clean exit."""
    proc.send_signal(signal.SIGTERM)
    got = messages(sock, time.monotonic() + 5, "STOPPING")
    check("SIGTERM: STOPPING=1" + which, any(m.get("STOPPING") == "1" for m in got), got)
    check("exit 0" + which, proc.wait(10) == 0)


def dig_status(port):
    r = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+time=1", "+tries=1", "SOA", ZONE],
                       capture_output=True, text=True, timeout=10)
    return "status: NOERROR" in r.stdout


def main():
    tmp = temp_dir("dnsd-systemd-")
    port = free_port()
    zone = zone_head(ZONE)
    with open(f"{tmp}/zone.yaml", "w") as f:
        f.write(zone)
    with open(f"{tmp}/dnsd.yaml", "w") as f:
        f.write(f'listen: ["127.0.0.1:{port}"]\nzones: ["zone.yaml"]\nstate_dir: state\nworkers: 1\n')
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(f"{tmp}/notify.sock")
    env = dict(os.environ, NOTIFY_SOCKET=f"{tmp}/notify.sock", WATCHDOG_USEC="200000")
    log = open(f"{tmp}/dnsd.log", "w")
    proc = subprocess.Popen([DNSD, "run", "-c", f"{tmp}/dnsd.yaml"], stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        got = messages(sock, time.monotonic() + 10, "READY")
        ready = next((m for m in got if "READY" in m), None)
        answering = dig_status(port)
        check("READY=1 with a STATUS once every listener is up", ready is not None and ready.get("READY") == "1" and
              ready.get("STATUS", "").startswith(f"serving 1 zone(s) on 127.0.0.1:{port}"), got)
        check("it answers when READY=1 arrives", answering)

        got = messages(sock, time.monotonic() + 1.0)
        pings = sum(m.get("WATCHDOG") == "1" for m in got)
        check("WATCHDOG=1 every half WATCHDOG_USEC (every 100 ms)", 7 <= pings <= 12, f"{pings} pings in 1 s: {got}")

        before = int(time.monotonic() * 1e6)
        proc.send_signal(signal.SIGHUP)
        got = messages(sock, time.monotonic() + 5, "READY")
        states = [m for m in got if "WATCHDOG" not in m]
        reloading = states[0] if states else {}
        usec = int(reloading.get("MONOTONIC_USEC", "0"))
        check("SIGHUP: RELOADING=1 with MONOTONIC_USEC (CLOCK_MONOTONIC), then READY=1",
              len(states) == 2 and reloading.get("RELOADING") == "1" and before <= usec <= before + 5_000_000 and
              states[1].get("READY") == "1" and states[1].get("STATUS", "").endswith("; reloaded"), states)

        with open(f"{tmp}/zone.yaml", "w") as f:
            f.write(zone + "bogus_key: 1\n")
        proc.send_signal(signal.SIGHUP)
        got = messages(sock, time.monotonic() + 5, "READY")
        states = [m for m in got if "WATCHDOG" not in m]
        check("a refused reload: RELOADING=1, then READY=1 saying so", len(states) == 2 and
              states[0].get("RELOADING") == "1" and "reload refused" in states[1].get("STATUS", ""), states)
        check("and the old zones keep serving", dig_status(port))

        stop(proc, sock)
    finally:
        if proc.poll() is None:
            proc.kill()

    # An abstract socket ('@' in NOTIFY_SOCKET), and a WATCHDOG_PID naming another process: the
    # watchdog is that process's, not dnsd's (sd_watchdog_enabled(3)), so no WATCHDOG=1.
    with open(f"{tmp}/zone.yaml", "w") as f:
        f.write(zone)  # (the refused reload's key gone)
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"dnsd-systemd-test-{os.getpid()}"
    abstract.bind("\0" + name)
    env = dict(os.environ, NOTIFY_SOCKET="@" + name, WATCHDOG_USEC="200000", WATCHDOG_PID=str(os.getpid()))
    proc = subprocess.Popen([DNSD, "run", "-c", f"{tmp}/dnsd.yaml"], stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        got = messages(abstract, time.monotonic() + 10, "READY")
        check("an abstract NOTIFY_SOCKET (@name) gets READY=1", any(m.get("READY") == "1" for m in got), got)
        got = messages(abstract, time.monotonic() + 0.5)
        check("no WATCHDOG=1 when WATCHDOG_PID is another process's", not any("WATCHDOG" in m for m in got), got)
        stop(proc, abstract, " (abstract socket)")
    finally:
        if proc.poll() is None:
            proc.kill()
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
