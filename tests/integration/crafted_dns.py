"""A tiny authoritative DNS responder for wire-level faults no real server makes on purpose: compressed
SRV targets, oversized UDP replies without TC, replies without AA. Serves a table of records over UDP
and TCP on loopback in a thread. Used by verify_test.py (and, in the e2e tier, by real etcd)."""
import socket
import struct
import threading


def name_wire(name):
    return b"".join(bytes([len(label)]) + label.encode() for label in name.rstrip(".").split(".") if label) + b"\0"


class Zone:
    """records: {(name lower, qtype): [(type, rdata builder or bytes)]}; faults: a set of 'compress'
    (SRV targets as pointers into the question), 'no_tc' (never truncate UDP), 'no_aa', 'pad' (add
    additional records to push the reply past 1232 bytes)."""

    def __init__(self, origin, faults=()):
        self.origin = origin.rstrip(".").lower()
        self.records = {}
        self.faults = set(faults)

    def add(self, name, qtype, rdata):
        self.records.setdefault((name.rstrip(".").lower(), qtype), []).append(rdata)

    def srv(self, name, target, port, prio=0, weight=0):
        self.add(name, 33, ("srv", prio, weight, port, target))

    def a(self, name, ip):
        self.add(name, 1, socket.inet_aton(ip))

    def cname(self, name, target):
        self.add(name, 5, ("name", target))

    def reply(self, query, udp):
        qid, flags = struct.unpack("!HH", query[:4])
        pos, labels = 12, []
        while query[pos]:
            labels.append(query[pos + 1:pos + 1 + query[pos]].decode())
            pos += query[pos] + 1
        qname = ".".join(labels).lower()
        qtype = struct.unpack("!H", query[pos + 1:pos + 3])[0]
        question = query[12:pos + 5]
        in_zone = qname == self.origin or qname.endswith("." + self.origin)
        answers = []
        # The question's name sits at offset 12: a compressed SRV target points at the zone's name in it.
        zone_at = 12 + len(name_wire(qname)) - len(name_wire(self.origin))
        own = self.records.get((qname, qtype), []) + (self.records.get((qname, 5), []) if qtype != 5 else [])
        answers = [(qname, rr) for rr in own]
        # CNAME chains: the target's records follow in the answer.
        for owner, rr in list(answers):
            if isinstance(rr, tuple) and rr[0] == "name" and (owner, 5) in self.records and qtype != 5:
                target = rr[1].rstrip(".").lower()
                for rr2 in self.records.get((target, qtype), []):
                    answers.append((target, rr2))
        rcode = 0 if in_zone and any(k[0] == qname for k in self.records) or qname == self.origin else 3
        if not in_zone:
            rcode = 5
        body = b""
        for owner, rr in answers:
            body += self.rr(owner, qname, rr, zone_at)
        additional = b""
        count_ar = 0
        if "pad" in self.faults and qtype == 33:
            for i in range(60):
                additional += name_wire(f"pad{i}.{self.origin}") + struct.pack("!HHIH", 1, 1, 30, 4) + bytes([10, 0, 0, i])
                count_ar += 1
        aa = 0 if "no_aa" in self.faults else 0x0400
        msg = struct.pack("!HHHHHH", qid, 0x8000 | aa | (flags & 0x0100) | rcode, 1, len(answers), 0, count_ar) + question + body + additional
        if udp and len(msg) > 1232 and "no_tc" not in self.faults:
            msg = struct.pack("!HHHHHH", qid, 0x8000 | aa | 0x0200 | (flags & 0x0100) | rcode, 1, 0, 0, 0) + question
        return msg

    def rr(self, owner, qname, rr, zone_at):
        owner_wire = b"\xc0\x0c" if owner == qname else name_wire(owner)
        if isinstance(rr, bytes):
            rtype, rdata = (1 if len(rr) == 4 else 28), rr
        elif rr[0] == "srv":
            _, prio, weight, port, target = rr
            t = target.rstrip(".").lower()
            if "compress" in self.faults and t.endswith("." + self.origin):
                head = t[:-len(self.origin) - 1]
                tw = name_wire(head)[:-1] + struct.pack("!H", 0xC000 | zone_at)
            else:
                tw = name_wire(target)
            rtype, rdata = 33, struct.pack("!HHH", prio, weight, port) + tw
        else:
            rtype, rdata = 5, name_wire(rr[1])
        return owner_wire + struct.pack("!HHIH", rtype, 1, 30, len(rdata)) + rdata


class Server:
    """Serves `zone` on 127.0.0.1:port over UDP and TCP until stop()."""

    def __init__(self, zone, port):
        self.zone, self.port = zone, port
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", port))
        self.tcp.listen(16)
        self.running = True
        self.threads = [threading.Thread(target=self.serve_udp, daemon=True), threading.Thread(target=self.serve_tcp, daemon=True)]
        for t in self.threads:
            t.start()

    def serve_udp(self):
        self.udp.settimeout(0.2)
        while self.running:
            try:
                q, peer = self.udp.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            self.udp.sendto(self.zone.reply(q, True), peer)

    def serve_tcp(self):
        self.tcp.settimeout(0.2)
        while self.running:
            try:
                c, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with c:
                c.settimeout(2)
                try:
                    n = struct.unpack("!H", c.recv(2))[0]
                    q = b""
                    while len(q) < n:
                        q += c.recv(n - len(q))
                    r = self.zone.reply(q, False)
                    c.sendall(struct.pack("!H", len(r)) + r)
                except (OSError, struct.error):
                    pass

    def stop(self):
        # The threads notice within their 0.2 s timeouts; the sockets close after them (a socket
        # closed under a thread still waiting on it stays bound).
        self.running = False
        for t in self.threads:
            t.join()
        self.udp.close()
        self.tcp.close()
