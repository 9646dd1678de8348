#!/usr/bin/python3
"""The cluster's life after bootstrap, with real etcd 3.4 in a private namespace: `dnsd register`
bootstraps three members (--wait), then carries them through replacement, restart, lost data, a
quorum refusal, a full cluster, a prepared member, pruning, and drift made visible by dnsd.
Usage: life.py SCENARIO --dnsd PATH   (ctest runs one scenario per test)."""
import json
import shutil
import signal
import subprocess
import sys
import time

from harness import _die_with_parent, http_get, main, wait_until

ZONE = "lab.example.com"
CONTROL = "127.0.0.1:8053"
SERVER_SET = f"_etcd-server-ssl-g1._tcp.{ZONE}"


def host(name):
    return f"{name}.{ZONE}"


def ip(name):
    return f"127.0.1.{int(name.split('-')[1])}"


def peer_url(name):
    return f"https://{host(name)}:2380"


class Life:
    def __init__(self, h, expected_size):
        self.h = h
        self.etcds = {}
        with open(h.path("token"), "w") as f:
            f.write("e2e-token\n")
        lines = [f"zone: {ZONE}", "ttl: 1", f"soa: {{ mname: ns1.{ZONE}, rname: hostmaster.{ZONE}, minimum: 1 }}",
                 f"ns: [ns1.{ZONE}]", "records: |", "  ns1 IN A 127.0.0.1", "clusters:", "  - name: g1",
                 "    registration: true", f"    expected_size: {expected_size}",
                 "    health: { interval: 500ms, timeout: 400ms, rise: 1, fall: 2 }", "    members: []"]
        h.start_dnsd("\n".join(lines) + "\n", control=CONTROL, token_file=h.path("token"))

    def data_dir(self, name):
        return self.h.path(f"data-{name}")

    def argv(self, name, *extra):
        return [self.h.dnsd_bin, "register", "--control", f"http://{CONTROL}", "--token-file", self.h.path("token"),
                "--zone", ZONE, "--cluster", "g1", "--member", name, "--host", host(name), "--address", ip(name),
                "--data-dir", self.data_dir(name), "--timeout", "30", *extra]

    def register(self, name, *extra, expect=0):
        """Runs dnsd register; returns (printed flags, stderr). Asserts the exit status."""
        started = time.monotonic()
        r = subprocess.run(self.argv(name, *extra), capture_output=True, text=True, timeout=120)
        print(f"register {name} {' '.join(extra)} -> {r.returncode} in {time.monotonic() - started:.2f}s\n  stderr: {r.stderr.strip()}\n  stdout: {r.stdout.strip()}")
        assert r.returncode == expect, f"register {name} exited {r.returncode}, not {expect}: {r.stderr}"
        return r.stdout.split(), r.stderr

    def start(self, name, flags):
        """etcd with exactly the flags `dnsd register` printed, plus where to listen."""
        argv = ["etcd", *flags, "--data-dir", self.data_dir(name), "--listen-peer-urls", f"https://{ip(name)}:2380",
                "--listen-client-urls", f"http://{ip(name)}:2379", "--peer-auto-tls", "--logger", "zap",
                "--log-outputs", "stderr"]
        self.etcds[name] = self.h.spawn(f"etcd-{name}-{len(self.h.procs)}", argv)

    def kill(self, name, wipe=False):
        self.etcds.pop(name).stop(signal.SIGKILL)
        if wipe:
            shutil.rmtree(self.data_dir(name))

    def etcdctl(self, *args):
        endpoints = ",".join(f"http://{ip(n)}:2379" for n in self.etcds)
        return subprocess.run(["etcdctl", "--endpoints", endpoints, "--dial-timeout", "3s", "--command-timeout", "5s",
                               *args], capture_output=True, text=True, timeout=30,
                              env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"})

    def member_list(self):
        r = self.etcdctl("member", "list", "-w", "json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)["members"]

    def peers(self):
        """{peer URL: name ('' for an unstarted member)} of etcd's member list."""
        return {m["peerURLs"][0]: m.get("name", "") for m in self.member_list()}

    def healthy(self, names):
        r = self.etcdctl("endpoint", "health")
        ok = sum("is healthy" in line for line in (r.stdout + r.stderr).splitlines())
        return ok == len(names) and {peer_url(n): n for n in names} == self.peers()

    def wait_healthy(self, names):
        wait_until(f"etcd members {sorted(names)} healthy", lambda: self.healthy(names), 90, 1)

    def srv_targets(self):
        answer = self.h.dig("127.0.0.1", 53, "SRV", SERVER_SET)
        assert answer is not None, "dig failed"
        return sorted(line.split()[3].rstrip(".") for line in answer.splitlines() if line.strip())

    def assert_dns_follows_etcd(self):
        """The server SRV set is etcd's member list, host for host."""
        want = sorted(url.split("//")[1].split(":")[0] for url in self.peers())
        assert self.srv_targets() == want, f"SRV set {self.srv_targets()} != etcd's members {want}"

    def put_get(self, key, value=None):
        if value is not None:
            r = self.etcdctl("put", key, value)
            assert r.stdout.strip() == "OK", r.stderr
        r = self.etcdctl("get", key, "--print-value-only")
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def bootstrap(self, names):
        procs = {n: subprocess.Popen(self.argv(n, "--wait"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     preexec_fn=_die_with_parent) for n in names}
        for n, p in procs.items():
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, f"bootstrap register {n}: {err}"
            assert "--initial-cluster-state=new" in out.split(), out
            self.start(n, out.split())
        self.wait_healthy(names)

    def cluster_json(self):
        return json.loads(http_get(f"http://{CONTROL}/v1/zones/{ZONE}/clusters/g1"))

    def zones_cluster(self):
        return json.loads(http_get(f"http://{CONTROL}/v1/zones/{ZONE}"))["clusters"][0]


def replace_restart_quorum(h):
    """Bootstrap three; kill -9 one and wipe it; a new member replaces it (the default strategy) with
    the data intact and DNS equal to etcd; a restart changes nothing; a member that lost its data
    rejoins under its own name; with two of three down a join is refused and nothing changes; `add`
    on a full cluster is refused; a member removed behind dnsd's back is shown as drift."""
    life = Life(h, 3)
    life.bootstrap(["g1-1", "g1-2", "g1-3"])
    assert life.put_get("life", "before") == "before"

    # Replacement: g1-3 dies with its disk; g1-4, a new name and address, takes its place.
    life.kill("g1-3", wipe=True)
    flags, said = life.register("g1-4")
    assert "removing g1-3" in said and "deleted g1-3 from dnsd's registry" in said, said
    assert "--initial-cluster-state=existing" in flags
    initial = next(f for f in flags if f.startswith("--initial-cluster="))
    assert sorted(initial.split("=", 1)[1].split(",")) == sorted(f"{n}={peer_url(n)}" for n in ["g1-1", "g1-2", "g1-4"])
    assert not any(f.startswith("--discovery-srv") for f in flags), flags
    life.start("g1-4", flags)
    life.wait_healthy(["g1-1", "g1-2", "g1-4"])
    assert life.put_get("life") == "before", "data lost in the replacement"
    life.assert_dns_follows_etcd()

    # A restart from an existing data dir: nothing changes.
    ids = {m["name"]: m["ID"] for m in life.member_list()}
    life.etcds.pop("g1-1").stop()
    flags, said = life.register("g1-1")
    assert "a restart" in said and "nothing changed" in said, said
    life.start("g1-1", flags)
    life.wait_healthy(["g1-1", "g1-2", "g1-4"])
    assert {m["name"]: m["ID"] for m in life.member_list()} == ids, "a restart changed the member list"

    # Lost data: g1-2 comes back with an empty data dir under its own name: removed and re-added.
    life.kill("g1-2", wipe=True)
    flags, said = life.register("g1-2")
    assert "removing g1-2" in said, said
    life.start("g1-2", flags)
    life.wait_healthy(["g1-1", "g1-2", "g1-4"])
    assert {m["name"]: m["ID"] for m in life.member_list()}["g1-2"] != ids["g1-2"], "g1-2 kept its old ID"
    assert life.put_get("life") == "before"
    life.assert_dns_follows_etcd()

    # add on a full cluster: refused, nothing changed.
    before = life.peers()
    _, said = life.register("g1-5", "--join-strategy", "add", expect=1)
    assert "cluster full: 3 of 3 members" in said, said
    assert life.peers() == before and "g1-5" not in str(life.cluster_json())

    # Two of three down: the last one has no quorum; a join is refused and nothing changes.
    life.kill("g1-1")
    life.kill("g1-4")
    _, said = life.register("g1-5", "--join-strategy", "prune", expect=1)
    assert "quorum guard: 0 healthy of 2 after the change, 2 needed" in said, said
    _, said = life.register("g1-5", expect=1)  # replace: two down, no single removal helps
    assert "2 members are down" in said, said
    life.start("g1-1", life.register("g1-1")[0])
    life.start("g1-4", life.register("g1-4")[0])
    life.wait_healthy(["g1-1", "g1-2", "g1-4"])
    assert life.peers() == before, "a refused join changed etcd's member list"
    assert "g1-5" not in str(life.cluster_json()), "a refused join registered the member"

    # Drift: a member removed behind dnsd's back is still served; dnsd shows it, counts it, logs it.
    gone = next(m for m in life.member_list() if m["name"] == "g1-4")
    # etcd refuses reconfiguration for ~5 s after peer links come up (the restarts above).
    wait_until("etcdctl member remove g1-4",
               lambda: life.etcdctl("member", "remove", format(int(gone["ID"]), "x")).returncode == 0, 20, 1)
    life.etcds.pop("g1-4").stop()

    def drift():
        return life.zones_cluster().get("drift")
    got = wait_until("drift to be shown", lambda: (drift() or {}).get("not_in_etcd"), 20, 0.2)
    assert got == ["g1-4"], drift()
    assert drift()["not_served"] == [], drift()
    metrics = http_get(f"http://{CONTROL}/metrics")
    assert f'dnsd_cluster_drift_members{{zone="{ZONE}.",cluster="g1",kind="not_in_etcd"}} 1' in metrics, metrics
    assert "drift" in h.procs[0].log() and "g1-4" in h.procs[0].log()


def prepare_add_prune(h):
    """`prepare` after an admin's `etcdctl member add`; `add` while below --cluster-size; `prune`
    removing two dead members of five, the registry following etcd."""
    life = Life(h, 3)
    life.bootstrap(["g1-1", "g1-2", "g1-3"])

    _, said = life.register("g1-4", "--join-strategy", "prepare", expect=1)  # nothing prepared yet
    assert "etcdctl member add" in said, said
    # etcd refuses reconfiguration for ~5 s after peer links come up (right after the bootstrap).
    wait_until("etcdctl member add g1-4",
               lambda: life.etcdctl("member", "add", "g1-4", f"--peer-urls={peer_url('g1-4')}").returncode == 0, 20, 1)
    flags, said = life.register("g1-4", "--join-strategy", "prepare")
    assert "as added, not started" in said, said
    life.start("g1-4", flags)
    life.wait_healthy(["g1-1", "g1-2", "g1-3", "g1-4"])

    # As the README shows: eval "$(dnsd register ... -o env)", then etcd with nothing but the TLS choice.
    shell = f'set -e; eval "$({" ".join(life.argv("g1-5", "--join-strategy", "add", "--cluster-size", "5", "-o", "env"))})"; ' \
            'exec etcd --peer-auto-tls --logger zap --log-outputs stderr'
    life.etcds["g1-5"] = h.spawn("etcd-g1-5-env", ["sh", "-c", shell])
    life.wait_healthy(["g1-1", "g1-2", "g1-3", "g1-4", "g1-5"])
    life.assert_dns_follows_etcd()

    life.kill("g1-1")
    life.kill("g1-2")
    flags, said = life.register("g1-6", "--join-strategy", "prune", "--cluster-size", "5")
    assert "removing g1-1" in said and "g1-2" in said, said
    life.start("g1-6", flags)
    life.wait_healthy(["g1-3", "g1-4", "g1-5", "g1-6"])
    life.assert_dns_follows_etcd()
    names = sorted(m["name"] for m in life.cluster_json()["members"])
    assert names == ["g1-3", "g1-4", "g1-5", "g1-6"], names


SCENARIOS = {
    "life_replace_restart_quorum": replace_restart_quorum,
    "life_prepare_add_prune": prepare_add_prune,
}

if __name__ == "__main__":
    sys.exit(main(SCENARIOS))
