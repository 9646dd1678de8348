#!/usr/bin/env python3
"""Starts a server and times it to its first answer, to the millisecond: sends a SOA query for ZONE to
127.0.0.1#PORT every millisecond from the moment the command is started, and stops at the first reply
whose answer names ZONE's ns1 (dig in a loop could only tell to ~20 ms: a dig takes that long to run).
Prints "SECONDS RSS_KIB PID" and leaves the server running (its output in LOG); exits 1, showing LOG,
if it dies first or does not answer in 30 s. Used by lib.sh's first_answer. Not part of `make test`.
Usage: first_answer.py PORT ZONE LOG COMMAND..."""
import os
import socket
import struct
import subprocess
import sys
import time


def query(zone, qid):
    qname = b"".join(bytes([len(l)]) + l.encode() for l in zone.strip(".").split(".")) + b"\0"
    return struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + qname + struct.pack(">HH", 6, 1)


def main():
    port, zone, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    msg = query(zone, 4242)
    with open(log, "wb") as out:
        t0 = time.monotonic()
        server = subprocess.Popen(sys.argv[4:], stdout=out, stderr=subprocess.STDOUT)
    while True:
        try:
            sock.sendto(msg, ("127.0.0.1", port))
        except OSError:
            pass  # port unreachable from the last send
        time.sleep(0.001)
        try:
            while True:
                reply = sock.recv(4096)
                qid, flags, _, ancount = struct.unpack(">HHHH", reply[:8])
                if qid == 4242 and flags & 0xF == 0 and ancount > 0 and b"\x03ns1" in reply[len(msg):]:
                    t = time.monotonic() - t0
                    with open(f"/proc/{server.pid}/status") as f:
                        rss = next(l.split()[1] for l in f if l.startswith("VmRSS"))
                    print(f"{t:.4f} {rss} {server.pid}")
                    return 0
        except (BlockingIOError, ConnectionRefusedError):
            pass
        if server.poll() is not None or time.monotonic() - t0 > 30:
            if server.poll() is None:
                server.kill()
            sys.stdout.flush()
            with open(log, "rb") as f:
                sys.stderr.buffer.write(f.read())
            return 1


if __name__ == "__main__":
    sys.exit(main())
