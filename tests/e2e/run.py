#!/usr/bin/python3
"""End-to-end scenarios: real etcd members bootstrap from dnsd inside a private network namespace.
Usage: run.py SCENARIO --dnsd PATH   (ctest runs one scenario per test)."""
import json
import signal
import sys

from harness import main, wait_until, zone_yaml

ZONE = "lab.example.com"


def members(cluster, count, ip_of):
    """[(name, host, address)] for members 1..count of a cluster."""
    sub = f"{cluster}." if cluster else ""
    return [(f"{cluster or 'm'}-{i}", f"etcd-{i}.{sub}{ZONE}", ip_of(i)) for i in range(1, count + 1)]


def start_members(h, cluster, mems, peer_tls=True, token=None):
    return {name: h.start_etcd(name, host, ip, ZONE, cluster, token=token, peer_tls=peer_tls)
            for name, host, ip in mems}


def expected(mems, peer_tls=True):
    return {name: f"{'https' if peer_tls else 'http'}://{host}:2380" for name, host, _ in mems}


def three_members_tls(h):
    """1. Three members, named cluster c1, TLS peers (--peer-auto-tls), IPv4."""
    mems = members("c1", 3, lambda i: f"127.0.1.{i}")
    h.start_dnsd(zone_yaml(ZONE, [("c1", True, mems)]))
    start_members(h, "c1", mems)
    h.assert_cluster(ZONE, "c1", expected(mems))


def five_members_ipv6(h):
    """2. Five members, unnamed cluster, IPv6 only: dnsd on [::1]:53, AAAA records, members on fd00::N."""
    mems = members(None, 5, lambda i: f"fd00::{i}")
    for _, _, ip in mems:
        h.add_ipv6(ip)
    h.resolv(["::1"])
    h.start_dnsd(zone_yaml(ZONE, [(None, True, mems)]), listen="[::1]:53")
    start_members(h, None, mems)
    h.assert_cluster(ZONE, None, expected(mems))


def two_clusters_one_zone(h):
    """3. Clusters c1 and c2 in one zone bootstrap at the same time without mixing."""
    c1 = members("c1", 3, lambda i: f"127.0.1.{i}")
    c2 = members("c2", 3, lambda i: f"127.0.2.{i}")
    h.start_dnsd(zone_yaml(ZONE, [("c1", True, c1), ("c2", True, c2)]))
    start_members(h, "c1", c1, token="token-c1")
    start_members(h, "c2", c2, token="token-c2")
    h.assert_cluster(ZONE, "c1", expected(c1))
    h.assert_cluster(ZONE, "c2", expected(c2))
    ids = {c: json.loads(h.etcdctl(ZONE, c, "member", "list", "-w", "json").stdout)["header"]["cluster_id"]
           for c in ("c1", "c2")}
    assert ids["c1"] != ids["c2"], f"c1 and c2 share cluster ID {ids['c1']}: they fused"
    # Each cluster's data is its own.
    assert h.etcdctl(ZONE, "c2", "get", "e2e-c1", "--print-value-only").stdout.strip() == ""


def leader_killed(h):
    """4. The leader is killed: the other two keep quorum and answer; the killed member restarts with
    its data dir, discovers through dnsd again and rejoins."""
    mems = members("c1", 3, lambda i: f"127.0.1.{i}")
    h.start_dnsd(zone_yaml(ZONE, [("c1", True, mems)]))
    procs = start_members(h, "c1", mems)
    h.assert_cluster(ZONE, "c1", expected(mems))
    status = json.loads(h.etcdctl(ZONE, "c1", "endpoint", "status", "--cluster", "-w", "json").stdout)
    leader_id = status[0]["Status"]["leader"]
    names = {m["ID"]: m["name"] for m in h.members(ZONE, "c1")}
    leader = names[leader_id]
    print(f"killing leader {leader}")
    procs[leader].stop(signal.SIGKILL)
    wait_until("two healthy members", lambda: h.cluster_healthy_count(ZONE, "c1") == 2, 30, 1)
    r = h.etcdctl(ZONE, "c1", "put", "after-kill", "still-here")
    assert r.returncode == 0, f"put without the leader failed: {r.stderr}"
    name, host, ip = next(m for m in mems if m[0] == leader)
    h.start_etcd(name, host, ip, ZONE, "c1", data_dir=h.path(f"data-{name}"))
    h.assert_cluster(ZONE, "c1", expected(mems))
    r = h.etcdctl(ZONE, "c1", "get", "after-kill", "--print-value-only")
    assert r.stdout.strip() == "still-here", f"lost a write across the leader kill: {r.stdout!r}"


def resolver(h, kind):
    """5. etcd's resolv.conf names a real resolver that forwards or stubs the zone to dnsd on 5300."""
    mems = members("c1", 3, lambda i: f"127.0.1.{i}")
    h.start_dnsd(zone_yaml(ZONE, [("c1", True, mems)]), listen="127.0.0.1:5300")
    if kind == "unbound":
        conf = h.path("unbound.conf")
        with open(conf, "w") as f:
            f.write(f"""server:
  interface: 127.0.0.1
  port: 53
  username: ""
  chroot: ""
  directory: "{h.dir}"
  pidfile: "{h.path('unbound.pid')}"
  use-syslog: no
  logfile: ""
  verbosity: 1
  do-not-query-localhost: no
  use-caps-for-id: yes
  module-config: "iterator"
  access-control: 127.0.0.0/8 allow
stub-zone:
  name: "{ZONE}"
  stub-addr: 127.0.0.1@5300
remote-control:
  control-enable: no
""")
        h.spawn("unbound", ["unbound", "-d", "-c", conf])
    else:
        h.spawn("dnsmasq", ["dnsmasq", "-k", "--conf-file=/dev/null", "--listen-address=127.0.0.1", "--port=53",
                            "--bind-interfaces", "--no-resolv", "--no-hosts", f"--server=/{ZONE}/127.0.0.1#5300",
                            "--user=root", f"--pid-file={h.path('dnsmasq.pid')}", "--log-queries"])
    wait_until(f"{kind} to resolve the zone",
               lambda: "2380" in (h.dig("127.0.0.1", 53, "SRV", f"_etcd-server-ssl-c1._tcp.{ZONE}") or ""), 15)
    start_members(h, "c1", mems)
    h.assert_cluster(ZONE, "c1", expected(mems))


def etcd34_cleartext_trap(h):
    """6. The etcd 3.4 trap: clear-text peers (_etcd-server only) cannot bootstrap on 3.4. This documents
    the README's warning: if it ever passes, the warning (and this test) must change."""
    mems = members("c1", 3, lambda i: f"127.0.1.{i}")
    h.start_dnsd(zone_yaml(ZONE, [("c1", False, mems)]))
    assert "0 0 2380 etcd-1.c1" in h.dig("127.0.0.1", 53, "SRV", f"_etcd-server-c1._tcp.{ZONE}")
    procs = start_members(h, "c1", mems, peer_tls=False)
    for name, proc in procs.items():
        wait_until(f"{name} to give up", lambda: not proc.alive(), 30)
        assert proc.popen.returncode != 0, f"{name} exited with 0"
        log = proc.log()
        # 3.4 looks up _etcd-server-ssl first and gives up when it is absent, although the plain
        # _etcd-server set (checked above) resolves.
        assert "failed to resolve during SRV discovery" in log, log[-2000:]
        assert f"error querying DNS SRV records for _etcd-server-ssl-c1" in log, log[-2000:]
        print(f"{name}: exited {proc.popen.returncode}: " + next(l for l in log.splitlines() if "SRV discovery" in l)[:300])


SCENARIOS = {
    "three_members_tls": three_members_tls,
    "five_members_ipv6": five_members_ipv6,
    "two_clusters_one_zone": two_clusters_one_zone,
    "leader_killed": leader_killed,
    "resolver_unbound": lambda h: resolver(h, "unbound"),
    "resolver_dnsmasq": lambda h: resolver(h, "dnsmasq"),
    "etcd34_cleartext_trap": etcd34_cleartext_trap,
}

if __name__ == "__main__":
    sys.exit(main(SCENARIOS))
