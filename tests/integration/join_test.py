#!/usr/bin/python3
"""dnsd register on its bad days, against the real dnsd and a scripted etcd v3 JSON gateway (real etcd
is e2e.life_*): a control endpoint that is down, a registration dnsd refuses after the member add
(the add is undone), two replacements started at once (one removes, the other sees the change and
stops), TLS that fails verification and passes with --etcd-ca-file, drift shown when a member is
removed behind dnsd's back, and a cluster whose members all stopped answering. Each refusal exits 1
and leaves etcd's member list as it was. Usage: join_test.py DNSD"""
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.request

from checks import check, failures, free_port, temp_dir

DNSD = sys.argv[1]
ZONE = "lab.example.com"
TOKEN = "join-test-token"


class FakeEtcd:
    """One etcd cluster's gateway, served on each live member's client address. Removes are slow (0.5 s,
    one at a time, as raft applies them), so two runs that start together both read the list first."""

    def __init__(self, port, tls_context=None):
        self.port, self.tls = port, tls_context
        self.lock = threading.Lock()
        self.members = []
        self.ops = []  # ("add"|"remove", ID) in the order applied
        self.keys = {}  # key: (value, lease), for the membership lock
        self.servers = {}
        self.next_id = 1000

    def member(self, name, started=True):
        self.next_id += 1
        m = {"ID": str(self.next_id), "peerURLs": [f"http://{name}.{ZONE}:2380"]}
        if started:
            m.update(name=name, clientURLs=[f"{'https' if self.tls else 'http'}://{name}.{ZONE}:{self.port}"])
        self.members.append(m)
        return m

    def serve(self, address):
        etcd = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, doc):
                body = json.dumps(doc).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # a drift read that timed out while a slow remove held the lock

            def do_GET(self):
                self.reply(200, {"health": "true"}) if self.path == "/health" else self.reply(404, {})

            def do_POST(self):
                req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path == "/v3/cluster/member/list":
                    with etcd.lock:
                        return self.reply(200, {"header": {}, "members": etcd.members})
                if self.path == "/v3/cluster/member/add":
                    with etcd.lock:
                        etcd.next_id += 1
                        m = {"ID": str(etcd.next_id), "peerURLs": req["peerURLs"]}
                        etcd.members.append(m)
                        etcd.ops.append(("add", m["ID"]))
                        return self.reply(200, {"header": {}, "member": m, "members": etcd.members})
                if self.path == "/v3/lease/grant":
                    with etcd.lock:
                        etcd.next_id += 1
                        return self.reply(200, {"header": {}, "ID": str(etcd.next_id), "TTL": str(req["TTL"])})
                if self.path == "/v3/lease/revoke":
                    with etcd.lock:
                        etcd.keys = {k: v for k, v in etcd.keys.items() if v[1] != req["ID"]}
                        return self.reply(200, {"header": {}})
                if self.path == "/v3/kv/txn":  # only the lock's: create the key unless it exists
                    put = req["success"][0]["request_put"]
                    with etcd.lock:
                        if put["key"] in etcd.keys:
                            kv = {"key": put["key"], "value": etcd.keys[put["key"]][0]}
                            return self.reply(200, {"header": {}, "responses": [{"response_range": {"kvs": [kv]}}]})
                        etcd.keys[put["key"]] = (put["value"], put["lease"])
                        return self.reply(200, {"header": {}, "succeeded": True, "responses": []})
                if self.path == "/v3/cluster/member/remove":
                    with etcd.lock:
                        time.sleep(0.5)
                        if not any(m["ID"] == req["ID"] for m in etcd.members):
                            err = "etcdserver: member not found"
                            return self.reply(500, {"error": err, "message": err, "code": 5})
                        etcd.members = [m for m in etcd.members if m["ID"] != req["ID"]]
                        etcd.ops.append(("remove", req["ID"]))
                        return self.reply(200, {"header": {}, "members": etcd.members})
                self.reply(404, {})

        server = http.server.ThreadingHTTPServer((address, self.port), Handler)
        if self.tls:
            server.socket = self.tls.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.servers[address] = server

    def stop(self, address):
        server = self.servers.pop(address)
        server.shutdown()
        server.server_close()

    def peers(self):
        with self.lock:
            return sorted(m["peerURLs"][0] for m in self.members)


class Dnsd:
    def __init__(self, tmp, client_port, tls_port):
        self.dir = tmp
        self.port, self.control = free_port(), free_port()
        os.makedirs(f"{tmp}/zones")
        with open(f"{tmp}/token", "w") as f:
            f.write(TOKEN + "\n")
        clusters = []
        for name, port, tls in (("g1", client_port, False), ("t1", tls_port, True)):
            clusters += [f"  - name: {name}", "    registration: true", "    expected_size: 3", "    peer_tls: false",
                         f"    client_tls: {'true' if tls else 'false'}", f"    client_port: {port}"]
            if name == "g1":
                clusters.append("    health: { interval: 300ms, timeout: 250ms, rise: 1, fall: 1 }")
            clusters.append("    members: []")
        with open(f"{tmp}/zones/lab.yaml", "w") as f:
            f.write("\n".join([f"zone: {ZONE}", f"soa: {{ mname: ns1.{ZONE}, rname: hostmaster.{ZONE} }}",
                               f"ns: [ns1.{ZONE}]", "records: |", "  ns1 IN A 127.0.0.1", "clusters:", *clusters]) + "\n")
        with open(f"{tmp}/dnsd.yaml", "w") as f:
            f.write(f'listen: ["127.0.0.1:{self.port}"]\nzones: ["zones/*.yaml"]\nstate_dir: state\nworkers: 1\n'
                    f'control: {{ listen: "127.0.0.1:{self.control}", token_file: token }}\n')
        self.log = open(f"{tmp}/dnsd.log", "w")
        self.proc = subprocess.Popen([DNSD, "run", "-c", f"{tmp}/dnsd.yaml"], stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                self.get(f"/v1/zones/{ZONE}")
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dnsd did not start")

    def get(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.control}{path}", timeout=5) as r:
            return json.loads(r.read())

    def members(self, cluster="g1"):
        return sorted(m["name"] for m in self.get(f"/v1/zones/{ZONE}/clusters/{cluster}")["members"])

    def register(self, cluster, name, *extra, control=None):
        n = int(name.split("-")[1])
        argv = [DNSD, "register", "--control", control or f"http://127.0.0.1:{self.control}", "--token-file",
                f"{self.dir}/token", "--zone", ZONE, "--cluster", cluster, "--member", name, "--host",
                f"{name}.{ZONE}", "--address", f"127.0.{1 if cluster == 'g1' else 2}.{n}", "--data-dir",
                f"{self.dir}/data-{name}", "--timeout", "3", *extra]
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(p):
    out, err = p.communicate(timeout=60)
    return p.returncode, out, err


def make_tls(tmp):
    """A CA-less self-signed certificate for the t1 members' names; returns (server context, cert file)."""
    cert, key = f"{tmp}/etcd.crt", f"{tmp}/etcd.key"
    names = ",".join(f"DNS:t1-{i}.{ZONE}" for i in (1, 2, 3))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=etcd", "-addext", f"subjectAltName={names}"],
                   check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx, cert


def main():
    tmp = temp_dir("dnsd-join-")
    port, tls_port = free_port(), free_port()
    etcd = FakeEtcd(port)
    d = Dnsd(tmp, port, tls_port)
    try:
        for i in (1, 2, 3):  # bootstrap: the gate opens with the third
            rc, out, err = run(d.register("g1", f"g1-{i}"))
            check(f"bootstrap register g1-{i}", rc == 0 and "--initial-cluster-state=new" in out, err)
            etcd.member(f"g1-{i}")
            etcd.serve(f"127.0.1.{i}")
        before = etcd.peers()

        rc, _, err = run(d.register("g1", "g1-4", "--join-strategy", "add", "--cluster-size", "4",
                                    control="http://127.0.0.1:1"))
        check("control down: exit 1, gave up, etcd untouched", rc == 1 and "gave up" in err and not etcd.ops, err)

        # dnsd refuses the registration after etcd added the member (a name dnsd does not take): undone.
        rc, _, err = run(d.register("g1", "g1-4", "--join-strategy", "add", "--cluster-size", "4", "--member", "-x"))
        check("refused registration: exit 1, the add is undone", rc == 1 and "registration refused" in err and
              "the member add is undone" in err and [op for op, _ in etcd.ops] == ["add", "remove"] and
              etcd.peers() == before, f"{err} {etcd.ops}")

        # g1-3 dies; two replacements start at once: one removes it and joins, the other stops.
        etcd.stop("127.0.1.3")
        etcd.ops.clear()
        a, b = d.register("g1", "g1-4"), d.register("g1", "g1-5")
        results = {"g1-4": run(a), "g1-5": run(b)}
        ok = [n for n, (rc, _, _) in results.items() if rc == 0]
        stopped = [n for n, (rc, _, err) in results.items() if rc == 1 and "waiting for dnsd register g1-" in err and
                   "has not started (a join in progress" in err]
        check("two replacements at once: one joins, the other waits for its lock, sees its change and stops",
              len(ok) == 1 and len(stopped) == 1 and [op for op, _ in etcd.ops] == ["remove", "add"] and not etcd.keys,
              f"{results} {etcd.ops} {etcd.keys}")
        winner = ok[0] if ok else "g1-4"
        check("the registry follows etcd: g1-3 deleted, the winner registered",
              d.members() == sorted(["g1-1", "g1-2", winner]), d.members())
        check("the winner's --initial-cluster is etcd's list after the change", ok and
              f"--initial-cluster=g1-1=http://g1-1.{ZONE}:2380,g1-2=http://g1-2.{ZONE}:2380,{winner}=http://{winner}.{ZONE}:2380"
              in results[winner][1], results.get(winner))

        # Drift: DNS and etcd agree (the unstarted winner counts by its peer URL); then g1-2 is removed
        # behind dnsd's back.
        def drift():
            return d.get(f"/v1/zones/{ZONE}")["clusters"][0].get("drift")
        def agree():
            d = drift() or {}
            return d.get("checked") and d["not_in_etcd"] == [] and d["not_served"] == []
        deadline = time.monotonic() + 10  # a check between etcd's add and the registration sees the join half done
        while time.monotonic() < deadline and not agree():
            time.sleep(0.1)
        check("drift: none while DNS serves what etcd lists", drift() and drift()["not_in_etcd"] == [] and
              drift()["not_served"] == [], drift())
        with etcd.lock:
            etcd.members = [m for m in etcd.members if m.get("name") != "g1-2"]
            etcd.members.append({"ID": "77", "name": "stray", "peerURLs": ["http://stray.example.net:2380"]})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (drift() or {}).get("not_in_etcd"):
            time.sleep(0.1)
        check("drift: a member removed behind dnsd's back, and one DNS does not serve",
              drift()["not_in_etcd"] == ["g1-2"] and drift()["not_served"] == ["stray"], drift())
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{d.control}/metrics", timeout=5).read().decode()
        check("drift: counted in dnsd_cluster_drift_members",
              f'dnsd_cluster_drift_members{{zone="{ZONE}.",cluster="g1",kind="not_in_etcd"}} 1' in metrics)
        time.sleep(1)
        log = open(f"{tmp}/dnsd.log").read()
        check("drift: logged once", log.count("served but not in etcd's member list: g1-2") == 1, log[-2000:])

        # Every member stopped answering: a formed cluster with no answer is a refusal naming them.
        for address in list(etcd.servers):
            etcd.stop(address)
        before = etcd.peers()
        rc, _, err = run(d.register("g1", "g1-6"))
        check("no member answers: exit 1 naming the members tried", rc == 1 and "no member answers etcd's API" in err
              and "g1-1 (cannot connect" in err and etcd.peers() == before, err)

        # TLS: the members' certificate is not trusted without --etcd-ca-file; with it, the join works.
        ctx, cert = make_tls(tmp)
        tls = FakeEtcd(tls_port, ctx)
        for i in (1, 2, 3):
            run(d.register("t1", f"t1-{i}"))
            tls.member(f"t1-{i}")
            tls.serve(f"127.0.2.{i}")
        rc, _, err = run(d.register("t1", "t1-4", "--cluster-size", "4"))
        check("TLS unverified: exit 1 with the reason, nothing changed", rc == 1 and "certificate verify failed" in err
              and not tls.ops, err)
        rc, out, err = run(d.register("t1", "t1-4", "--cluster-size", "4", "--etcd-ca-file", cert, "-o", "env"))
        check("TLS with --etcd-ca-file: joined, -o env exports", rc == 0 and [op for op, _ in tls.ops] == ["add"] and
              "export ETCD_INITIAL_CLUSTER_STATE='existing'\n" in out, f"{err} {out}")
    finally:
        d.proc.terminate()
        rc = d.proc.wait(10)
        check("dnsd stopped cleanly", rc == 0, rc)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
