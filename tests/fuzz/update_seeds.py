#!/usr/bin/python3
"""Writes the seed corpus of fuzz_update (tests/fuzz/corpus/update): DNS UPDATE messages of every
RFC 2136 shape, signed and unsigned, with the key fuzz_update.cpp verifies against. Standard library only."""
import hashlib, hmac, os, struct, sys

KEY, SECRET = "ddns-key.", b"0123456789abcdef0123456789abcdef"
ZONE = "lab.example.com."
IN, NONE, ANY = 1, 254, 255


def name(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.rstrip(".").split(".")) + b"\0"


def rr(owner, rtype, klass, ttl, rdata=b""):
    return name(owner) + struct.pack("!HHIH", rtype, klass, ttl, len(rdata)) + rdata


def update(prereqs, updates, ident=0x4242):
    head = struct.pack("!HHHHHH", ident, 5 << 11, 1, len(prereqs), len(updates), 0)
    return head + name(ZONE) + struct.pack("!HH", 6, IN) + b"".join(prereqs) + b"".join(updates)


def sign(msg, when=1800000000, fudge=300):
    ident = msg[:2]
    variables = name(KEY) + struct.pack("!HI", ANY, 0) + name("hmac-sha256") + when.to_bytes(6, "big") + \
        struct.pack("!HHH", fudge, 0, 0)
    mac = hmac.new(SECRET, msg + variables, hashlib.sha256).digest()
    rdata = name("hmac-sha256") + when.to_bytes(6, "big") + struct.pack("!HH", fudge, len(mac)) + mac + ident + \
        struct.pack("!HH", 0, 0)
    arcount = struct.unpack("!H", msg[10:12])[0] + 1
    return msg[:10] + struct.pack("!H", arcount) + msg[12:] + rr(KEY, 250, ANY, 0, rdata)


a = lambda ip: bytes(int(x) for x in ip.split("."))
seeds = {
    "add-a": update([], [rr("web." + ZONE, 1, IN, 60, a("192.0.2.80"))]),
    "add-txt-cname": update([], [rr("t." + ZONE, 16, IN, 60, b"\x05hello"), rr("c." + ZONE, 5, IN, 60, name("ns1." + ZONE))]),
    "delete-rrset-name-rr": update([], [rr("dyn." + ZONE, 1, ANY, 0), rr("dyn." + ZONE, 255, ANY, 0),
                                        rr("dyn." + ZONE, 16, NONE, 0, b"\x01x")]),
    "prereqs": update([rr("dyn." + ZONE, 255, ANY, 0), rr("nope." + ZONE, 255, NONE, 0), rr("dyn." + ZONE, 1, ANY, 0),
                       rr("dyn." + ZONE, 28, NONE, 0), rr("dyn." + ZONE, 1, IN, 0, a("192.0.2.200"))],
                      [rr("web." + ZONE, 1, IN, 60, a("192.0.2.81"))]),
    "config-owned-srv": update([], [rr("_etcd-server-ssl-c1._tcp." + ZONE, 33, ANY, 0)]),
    "apex-soa-ns": update([], [rr(ZONE, 2, ANY, 0), rr(ZONE, 6, IN, 60, name("a.") + name("b.") + bytes(20))]),
    "outside-zone": update([], [rr("x.example.org.", 1, IN, 60, a("192.0.2.1"))]),
}
seeds["signed-add-a"] = sign(seeds["add-a"])
seeds["signed-prereqs"] = sign(seeds["prereqs"])
seeds["signed-bad-time"] = sign(seeds["add-a"], when=1)
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "update")
os.makedirs(out, exist_ok=True)
for n, data in seeds.items():
    with open(os.path.join(out, n + ".msg"), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {out}")
