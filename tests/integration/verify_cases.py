"""The zones `dnsd verify` is held to, each with what real etcd 3.4.23 does with it: whether three members
started against it (etcd-N.lab.example.com, 127.0.1.N, cluster c1) bootstrap one cluster of three.
tests/e2e/verify_agrees.py starts real etcd against each (served by Knot DNS, or by the crafted
responder for wire-level faults) and fails when etcd's outcome is not the one recorded here;
tests/integration/verify_test.py replays `dnsd verify` alone on each and fails when its verdict
(exit 0 for every member) is not that outcome either."""
import socket

from crafted_dns import Zone

ORIGIN = "lab.example.com"
MEMBERS = [(f"etcd-{i}", f"etcd-{i}.{ORIGIN}", f"127.0.1.{i}") for i in (1, 2, 3)]


def base(faults=(), members=MEMBERS, srv_members=None, plain=False):
    """A/SRV records for the members; srv_members: who is in the SRV set (default: all)."""
    z = Zone(ORIGIN, faults)
    for _, host, ip in members:
        z.a(host, ip)
    for _, host, _ in (members if srv_members is None else srv_members):
        z.srv(f"_etcd-server{'' if plain else '-ssl'}-c1._tcp.{ORIGIN}", host, 2380)
        z.srv(f"_etcd-client-c1._tcp.{ORIGIN}", host, 2379)
    return z


def good():
    return base()


def plain_only():
    return base(plain=True)


def target_without_address():
    z = Zone(ORIGIN)
    for i, (_, host, ip) in enumerate(MEMBERS):
        if i != 2:
            z.a(host, ip)
        z.srv(f"_etcd-server-ssl-c1._tcp.{ORIGIN}", host, 2380)
    return z


def duplicate_srv():
    # Another record (priority 1) with the same target and port: a server keeps both.
    z = base()
    z.srv(f"_etcd-server-ssl-c1._tcp.{ORIGIN}", MEMBERS[0][1], 2380, prio=1)
    return z


def cname_target():
    # etcd-3's SRV target is an alias whose chain (CNAME, A) is in the answer of its address lookup.
    z = base(srv_members=MEMBERS[:2])
    z.srv(f"_etcd-server-ssl-c1._tcp.{ORIGIN}", f"alias-3.{ORIGIN}", 2380)
    z.cname(f"alias-3.{ORIGIN}", MEMBERS[2][1])
    return z


def partial_set():
    # etcd-3 is not in the set: its peer URL matches no target ("cannot find local etcd member").
    return base(srv_members=MEMBERS[:2])


def compressed_targets():
    return base(["compress"])


def oversized_without_tc():
    # 30 more targets with long names (all with addresses): the SRV answer alone is over 1232 bytes.
    z = base(["no_tc"])
    for i in range(30):
        host = f"spare-member-with-a-rather-long-name-{i}.{ORIGIN}"
        z.a(host, f"127.0.2.{i + 1}")
        z.srv(f"_etcd-server-ssl-c1._tcp.{ORIGIN}", host, 2380)
    return z


# name: (zone builder, served by, etcd 3.4.23 bootstraps the cluster of three)
CASES = {
    "good": (good, "knot", True),
    "plain_only": (plain_only, "knot", False),
    "target_without_address": (target_without_address, "knot", False),
    "duplicate_srv": (duplicate_srv, "knot", False),
    "cname_target": (cname_target, "knot", True),
    "partial_set": (partial_set, "knot", False),
    "compressed_targets": (compressed_targets, "crafted", False),
    "oversized_without_tc": (oversized_without_tc, "crafted", False),
}


def zone_file(z):
    """The crafted zone as an RFC 1035 file for Knot."""
    lines = [f"$ORIGIN {ORIGIN}.", "$TTL 30", "@ SOA ns1 hostmaster 1 3600 600 86400 30", "@ NS ns1", "ns1 A 127.0.0.1"]
    for (name, qtype), rdatas in z.records.items():
        for rd in rdatas:
            if qtype == 1:
                lines.append(f"{name}. A {socket.inet_ntoa(rd)}")
            elif qtype == 33:
                _, prio, weight, port, target = rd
                lines.append(f"{name}. SRV {prio} {weight} {port} {target.rstrip('.')}.")
            elif qtype == 5:
                lines.append(f"{name}. CNAME {rd[1].rstrip('.')}.")
    return "\n".join(lines) + "\n"


def verify_args(member):
    name, host, _ = member
    return ["--domain", ORIGIN, "--name", "c1", "--expect-size", "3", "--member", name, "--peer-url", f"https://{host}:2380"]
