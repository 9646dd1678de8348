#!/usr/bin/python3
"""Health probes keep one connection per member open (HTTP/1.1 keep-alive), over http and over https:
many probes on one connection; a server that closes its connections now and then (Connection: close
every 4th reply) costs no failed probe, and over https the new connections resume the TLS session
(an abbreviated handshake); a member that stops answering on its open connection is unhealthy within
fall x interval + timeout; after it comes back the member is healthy again on a new connection.
Then the replies a member can send, from a raw socket: chunked, HTTP/1.0 with the body to the
connection's end, and a kept connection closed just as a probe goes out are all healthy; a reply that
is not HTTP, a body over the limit and a server that closes without a word are unhealthy, each with its
reason in /v1/zones.
Usage: probe_keepalive_test.py DNSD"""
import http.server
import socket
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.request

from checks import check, failures, free_port, start_dnsd, temp_dir, zone_head

DNSD = sys.argv[1]
ZONE = "lab.example.com"


class Member:
    """An etcd /health stand-in that counts probe connections and requests; every `close_every`-th reply
    ends its connection, `hang` holds requests unanswered."""

    def __init__(self, port, tls=None):
        self.connections = self.requests = self.resumed = 0
        self.close_every = 0
        self.hang = False
        member = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):  # connections that carried a probe (dnsd's drift reads are POSTs)
                if not getattr(self, "counted", False):
                    self.counted = True
                    member.connections += 1
                    member.resumed += int(getattr(self.connection, "session_reused", False))
                member.requests += 1
                while member.hang:
                    time.sleep(0.05)
                body = b'{"health":"true"}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                if member.close_every and member.requests % member.close_every == 0:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        if tls:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *args: None  # replies to probes that timed out: broken pipes
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def counts(self):
        return self.connections, self.requests


def tls_server_context(tmp):
    """A certificate for the member's host, and the server's context (it issues session tickets)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", f"{tmp}/key.pem", "-out", f"{tmp}/cert.pem", "-days", "1", "-subj", f"/CN=a.{ZONE}",
                    "-addext", f"subjectAltName=DNS:a.{ZONE}"], check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(f"{tmp}/cert.pem", f"{tmp}/key.pem")
    return ctx


def scenario(scheme):
    print(f"-- {scheme}")
    tmp = temp_dir("dnsd-keepalive-")
    etcd_port, port, control = free_port(), free_port(), free_port()
    tls = tls_server_context(tmp) if scheme == "https" else None
    member = Member(etcd_port, tls)
    tls_options = f", scheme: https, ca_file: {tmp}/cert.pem, server_name: a.{ZONE}" if tls else ""

    def zone(extra=""):
        return zone_head(ZONE) + f"""clusters:
  - name: c1
    health: {{ interval: 100ms, timeout: 80ms, rise: 1, fall: 2{tls_options} }}
    members:
      - {{ name: a, host: a.{ZONE}, addresses: [127.0.0.1], client_port: {etcd_port} }}
{extra}"""
    proc = start_dnsd(DNSD, tmp, zone(), port, control)

    def health(index=0):
        try:
            z = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{control}/v1/zones", timeout=2).read())
            return z["zones"][0]["clusters"][0]["members"][index]["health"]
        except (OSError, IndexError):
            return None

    def wait(state, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and health() != state:
            time.sleep(0.02)
        return health() == state

    try:
        check("the member is probed healthy", wait("healthy", 5))
        c0, r0 = member.counts()
        time.sleep(2)
        c1, r1 = member.counts()
        check("keep-alive: 2 s of probes every 100 ms on one connection", r1 - r0 >= 12 and c1 - c0 == 0,
              f"{r1 - r0} requests on {c1 - c0} new connection(s)")

        # A change elsewhere in the config (a member added, SIGHUP) leaves a's connection alone.
        other = Member(free_port(), tls)
        with open(f"{tmp}/zone.yaml", "w") as f:
            f.write(zone(f"      - {{ name: b, host: b.{ZONE}, addresses: [127.0.0.1], client_port: {other.server.server_port} }}\n"))
        c0, r0 = member.counts()
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and health(1) != "healthy":
            time.sleep(0.02)
        time.sleep(0.5)
        c1, r1 = member.counts()
        check("a member added by a reload is probed, and the others keep their connections",
              health(1) == "healthy" and r1 - r0 >= 3 and c1 - c0 == 0, (health(1), f"{r1 - r0} requests on {c1 - c0} new"))

        member.close_every = 4  # the server ends every 4th reply's connection
        c0, r0 = member.counts()
        resumed = member.resumed
        time.sleep(2)
        c1, r1 = member.counts()
        text = open(f"{tmp}/dnsd.log").read()
        check("connections the server closes are reopened, no probe fails", r1 - r0 >= 12 and c1 - c0 >= 3 and
              "is now unhealthy" not in text and health() == "healthy", f"{r1 - r0} requests, {c1 - c0} connections")
        if tls:
            check("https: the new connections resume the TLS session", member.resumed - resumed >= c1 - c0 - 1,
                  f"{member.resumed - resumed} of {c1 - c0} resumed")

        member.close_every = 0
        hung_on, _ = member.counts()  # the connections opened before it hung
        member.hang = True  # the open connection stops answering
        hung = time.monotonic()
        check("a member hanging on its open connection is unhealthy within fall x interval + timeout",
              wait("unhealthy", 1.5), health())
        print(f"unhealthy {time.monotonic() - hung:.2f} s after it stopped answering")
        member.hang = False
        # A probe on a connection opened after it hung (counted once its request arrived, maybe while
        # it still hung) is what finds it healthy: never the hung connection.
        check("and healthy again once it answers, on a new connection", wait("healthy", 3) and member.counts()[0] > hung_on,
              (hung_on, member.counts()))

        if tls:  # the CA file replaced by one that did not sign the member's certificate, then put back
            good = open(f"{tmp}/cert.pem").read()
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                            "-keyout", f"{tmp}/other-key.pem", "-out", f"{tmp}/cert.pem", "-days", "1", "-subj",
                            f"/CN=a.{ZONE}"], check=True, capture_output=True)
            proc.send_signal(signal.SIGHUP)
            check("https: a CA file rotated on disk is read at the reload, and the kept connection is dropped",
                  wait("unhealthy", 3) and "certificate verify failed" in open(f"{tmp}/dnsd.log").read(), health())
            with open(f"{tmp}/cert.pem", "w") as f:
                f.write(good)
            proc.send_signal(signal.SIGHUP)
            check("https: and the right one again", wait("healthy", 3), health())
    finally:
        member.hang = False
        proc.terminate()
        check("dnsd stopped cleanly", proc.wait(10) == 0)
        member.server.shutdown()


HEALTHY = b'{"health":"true"}'
REPLIES = {  # member -> what its server does with each request
    "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n" + HEALTHY[:5] + b"\r\n"
               + b"%x\r\n" % (len(HEALTHY) - 5) + HEALTHY[5:] + b"\r\n0\r\n\r\n",
    "http10": b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + HEALTHY,  # then closes
    "racing": b"HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n" + HEALTHY,  # closes every 2nd request unanswered
    "ssh": b"SSH-2.0-OpenSSH_9.2\r\n",
    "huge": b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n",
    "silent": b"",  # closes at once
}


def raw_member(name, port):
    """A server on a raw socket answering every request with REPLIES[name]."""
    listener = socket.create_server(("127.0.0.1", port))

    def serve(conn):
        with conn:
            requests = 0
            while True:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                requests += 1
                if name == "racing" and requests % 2 == 0:
                    return  # a kept connection the server drops as the next request arrives
                conn.sendall(REPLIES[name])
                if name in ("http10", "ssh", "huge", "silent"):
                    return

    def accept():
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
    threading.Thread(target=accept, daemon=True).start()


def replies():
    print("-- replies")
    tmp = temp_dir("dnsd-replies-")
    port, control = free_port(), free_port()
    members = ""
    for name in REPLIES:
        member_port = free_port()
        raw_member(name, member_port)
        members += f"      - {{ name: {name}, host: {name}.{ZONE}, addresses: [127.0.0.1], client_port: {member_port} }}\n"
    proc = start_dnsd(DNSD, tmp, zone_head(ZONE) + f"""clusters:
  - name: c1
    health: {{ interval: 100ms, timeout: 80ms, rise: 1, fall: 1 }}
    members:
{members}""", port, control)

    def states():
        try:
            z = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{control}/v1/zones", timeout=2).read())
            return {m["name"]: m for m in z["zones"][0]["clusters"][0]["members"]}
        except OSError:
            return {}
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(m["health"] == "unknown" for m in states().values()):
            time.sleep(0.05)
        time.sleep(1)  # ten probes each: the racing member's dropped connections among them
        got = states()
        for name in ("chunked", "http10", "racing"):
            check(f"{name}: healthy", got[name]["health"] == "healthy" and got[name]["last_error"] == "", got[name])
        expected = {"ssh": "invalid HTTP reply: not an HTTP/1.x reply: 'SSH-2.0-OpenSSH_9.2'",
                    "huge": "invalid HTTP reply: reply body over 65536 bytes",
                    "silent": "connection closed before a reply"}
        for name, error in expected.items():
            check(f"{name}: unhealthy, saying why", got[name]["health"] == "unhealthy" and got[name]["last_error"] == error,
                  got[name])
    finally:
        proc.terminate()
        check("dnsd stopped cleanly", proc.wait(10) == 0)


def main():
    scenario("http")
    scenario("https")
    replies()
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
