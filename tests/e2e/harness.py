"""End-to-end harness: a private network+mount namespace with dnsd on port 53, real etcd members from
Debian's etcd-server, and (optionally) real resolvers in front of dnsd.

Every process is started through Harness.spawn() and stopped by its PID in Harness.close(), which runs
even when a scenario fails; every wait polls with a deadline. Run with /usr/bin/python3 (stdlib only).
"""
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77  # ctest SKIP_RETURN_CODE
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    """Children get SIGKILL if the harness itself is killed (a ctest timeout): nothing outlives a run."""
    _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def enter_namespace():
    """Re-executes this script inside `unshare --net --mount` (as non-root: with --user
    --map-root-user). Returns only inside the namespace. Outside CI a missing namespace support skips
    with one line; in CI it fails."""
    if os.environ.get("DNSD_E2E_INSIDE") == "1":
        return
    env = dict(os.environ, DNSD_E2E_INSIDE="1")
    variants = [["unshare", "--net", "--mount"]]
    if os.geteuid() != 0:
        variants.insert(0, ["unshare", "--user", "--map-root-user", "--net", "--mount"])
    for prefix in variants:
        probe = subprocess.run(prefix + ["true"], capture_output=True)
        if probe.returncode == 0:
            os.execvpe(prefix[0], prefix + ["--", sys.executable] + sys.argv, env)
    reason = probe.stderr.decode().strip() or "unshare failed"
    if os.environ.get("CI") == "true":
        print(f"FAIL: network namespaces are unavailable in CI ({reason})")
        sys.exit(1)
    print(f"SKIP: network namespaces are unavailable here ({reason})")
    sys.exit(SKIP)


def wait_until(what, predicate, timeout, interval=0.2):
    """Polls predicate() until it returns a true value or the deadline passes (then raises)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - a failed poll is retried until the deadline
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


class Proc:
    def __init__(self, name, popen, log_path, must_exit_cleanly=False):
        self.name, self.popen, self.log_path = name, popen, log_path
        self.must_exit_cleanly = must_exit_cleanly  # dnsd: SIGTERM must give exit 0 and a clean log

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.alive():
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


class Harness:
    def __init__(self, dnsd, name):
        self.dnsd_bin = os.path.abspath(dnsd)
        self.name = name
        self.dir = tempfile.mkdtemp(prefix=f"dnsd-e2e-{name}-")
        self.procs = []
        self.started = time.monotonic()
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        self.resolv(["127.0.0.1"])
        # An /etc/hosts that names nothing of ours: every member name must come from DNS.
        hosts = self.path("hosts")
        with open(hosts, "w") as f:
            f.write("127.0.0.1 localhost\n::1 localhost\n")
        subprocess.run(["mount", "--bind", hosts, "/etc/hosts"], check=True)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def resolv(self, servers):
        """Points this namespace's /etc/resolv.conf at `servers` (bind mount, private to the namespace)."""
        p = self.path("resolv.conf")
        with open(p, "w") as f:
            f.writelines(f"nameserver {s}\n" for s in servers)
            f.write("options timeout:1 attempts:3\n")
        subprocess.run(["mount", "--bind", p, "/etc/resolv.conf"], check=True)

    def add_ipv6(self, addr):
        subprocess.run(["ip", "-6", "addr", "add", f"{addr}/128", "dev", "lo", "nodad"], check=True)

    def spawn(self, name, argv, env=None, must_exit_cleanly=False):
        log_path = self.path(f"{name}.log")
        log = open(log_path, "w")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, preexec_fn=_die_with_parent)
        log.close()
        proc = Proc(name, p, log_path, must_exit_cleanly)
        self.procs.append(proc)
        return proc

    def close(self, failed):
        """Stops every process. Returns the problems found on the way out: a dnsd that did not exit 0
        on SIGTERM, or printed a sanitizer report."""
        problems = []
        for p in reversed(self.procs):
            was_alive = p.alive()
            p.stop()
            if p.must_exit_cleanly and was_alive and p.popen.returncode != 0:
                problems.append(f"{p.name} exited {p.popen.returncode} on SIGTERM")
            if p.must_exit_cleanly and any(r in p.log() for r in SANITIZER_REPORTS):
                problems.append(f"{p.name} printed a sanitizer report")
        if failed or problems:
            for p in self.procs:
                tail = p.log()[-3000:]
                print(f"----- {p.name} (pid {p.pid}) log tail -----\n{tail}")
        shutil.rmtree(self.dir, ignore_errors=True)
        return problems

    # --- dnsd -----------------------------------------------------------------------------------
    def start_dnsd(self, zone_yaml, listen="127.0.0.1:53", name="dnsd", control=None, token_file=None, extra_conf="",
                   extra_zones=None):
        """dnsd serving zone_yaml (and extra_zones: {file name: YAML}); a second one has its own
        directory (its name). Returns once it answers the first zone's SOA with NOERROR."""
        base = self.path() if name == "dnsd" else self.path(name)
        os.makedirs(os.path.join(base, "zones"), exist_ok=True)
        for file, text in {"zone.yaml": zone_yaml, **(extra_zones or {})}.items():
            with open(os.path.join(base, "zones", file), "w") as f:
                f.write(text)
        conf = os.path.join(base, "dnsd.yaml")
        with open(conf, "w") as f:
            f.write(f'listen: ["{listen}"]\nzones: ["zones/*.yaml"]\nstate_dir: state\nworkers: 1\n')
            if control:
                token = f", token_file: {token_file}" if token_file else ""
                f.write(f'control: {{ listen: "{control}"{token} }}\n')
            f.write(extra_conf)
        proc = self.spawn(name, [self.dnsd_bin, "run", "-c", conf], must_exit_cleanly=True)
        host, port = listen.rsplit(":", 1)

        def answering():
            assert proc.alive(), "dnsd exited:\n" + proc.log()
            return self.dig(host.strip("[]"), int(port), "SOA", zone_name(zone_yaml))  # "" until NOERROR
        wait_until("dnsd to answer", answering, 10)
        return proc

    def dig(self, server, port, qtype, name):
        """dig +short's answer lines, or None when dig itself failed (no reply, a timeout)."""
        r = subprocess.run(["dig", f"@{server}", "-p", str(port), "+short", "+time=1", "+tries=1", qtype, name],
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip() if r.returncode == 0 else None

    def rcode(self, server, port, qtype, name):
        """The status dig reports (NOERROR, NXDOMAIN, ...); raises when there is no reply."""
        r = subprocess.run(["dig", f"@{server}", "-p", str(port), "+time=1", "+tries=1", qtype, name],
                           capture_output=True, text=True, timeout=10)
        for line in r.stdout.splitlines():
            if "status:" in line:
                return line.split("status:")[1].split(",")[0].strip()
        raise AssertionError(f"no reply to {qtype} {name}: {r.stdout} {r.stderr}")

    # --- etcd -----------------------------------------------------------------------------------
    def start_etcd(self, name, host, ip, zone, cluster=None, token=None, peer_tls=True, data_dir=None):
        """One etcd member that discovers its peers through DNS: --discovery-srv ZONE
        [--discovery-srv-name CLUSTER], advertising host names served by dnsd."""
        scheme = "https" if peer_tls else "http"
        bracket = f"[{ip}]" if ":" in ip else ip
        argv = [
            "etcd", "--name", name, "--data-dir", data_dir or self.path(f"data-{name}"),
            "--discovery-srv", zone,
            "--initial-advertise-peer-urls", f"{scheme}://{host}:2380",
            "--listen-peer-urls", f"{scheme}://{bracket}:2380",
            "--listen-client-urls", f"http://{bracket}:2379",
            "--advertise-client-urls", f"http://{host}:2379",
            "--initial-cluster-token", token or f"token-{cluster or 'default'}",
            "--initial-cluster-state", "new",
            "--logger", "zap", "--log-outputs", "stderr",
        ]
        if cluster:
            argv += ["--discovery-srv-name", cluster]
        if peer_tls:
            argv += ["--peer-auto-tls"]
        env = dict(os.environ, ETCD_UNSUPPORTED_ARCH="", GODEBUG="netdns=go")
        return self.spawn(f"etcd-{name}", argv, env)

    def etcdctl(self, zone, cluster, *args, timeout=20):
        argv = ["etcdctl", "--discovery-srv", zone, "--dial-timeout", "3s", "--command-timeout", "5s"]
        if cluster:
            argv += ["--discovery-srv-name", cluster]
        r = subprocess.run(argv + list(args), capture_output=True, text=True, timeout=timeout,
                           env=dict(os.environ, ETCDCTL_API="3", GODEBUG="netdns=go"))
        return r

    def cluster_healthy_count(self, zone, cluster):
        r = self.etcdctl(zone, cluster, "endpoint", "health", "--cluster")
        return sum("is healthy" in line for line in (r.stdout + r.stderr).splitlines())

    def cluster_healthy(self, zone, cluster, size):
        r = self.etcdctl(zone, cluster, "endpoint", "health", "--cluster")
        healthy = [line for line in (r.stdout + r.stderr).splitlines() if "is healthy" in line]
        return len(healthy) == size and r.returncode == 0 and healthy

    def members(self, zone, cluster):
        r = self.etcdctl(zone, cluster, "member", "list", "-w", "json")
        if r.returncode != 0:
            raise AssertionError(f"member list failed: {r.stderr}")
        return json.loads(r.stdout)["members"]

    def assert_cluster(self, zone, cluster, expect):
        """Health of every member, the member list (names and peer URLs), and a put/get through
        etcdctl --discovery-srv. expect: {member name: peer URL}."""
        wait_until(f"cluster {cluster} healthy", lambda: self.cluster_healthy(zone, cluster, len(expect)), 90, 1)
        got = {m.get("name"): sorted(m.get("peerURLs", [])) for m in self.members(zone, cluster)}
        want = {name: [url] for name, url in expect.items()}
        assert got == want, f"member list of {cluster}: {got} != {want}"
        print(f"{cluster}: members {got}")
        key, value = f"e2e-{cluster}", f"value-{time.time()}"
        r = self.etcdctl(zone, cluster, "put", key, value)
        assert r.returncode == 0 and r.stdout.strip() == "OK", f"put failed: {r.stdout} {r.stderr}"
        r = self.etcdctl(zone, cluster, "get", key, "--print-value-only")
        assert r.returncode == 0 and r.stdout.strip() == value, f"get returned {r.stdout!r} {r.stderr}"


def http_get(url, timeout=5):
    import urllib.request
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def zone_name(zone_yaml):
    for line in zone_yaml.splitlines():
        if line.startswith("zone:"):
            return line.split(":", 1)[1].strip()
    raise ValueError("zone yaml without zone:")


def zone_yaml(zone, clusters, extra=None):
    """clusters: [(name or None, peer_tls, [(member, host, address)])]; extra: {cluster name: YAML lines
    added to that cluster (e.g. its health: block)}."""
    out = [f"zone: {zone}", "ttl: 5",
           f"soa: {{ mname: ns1.{zone}, rname: hostmaster.{zone}, minimum: 1 }}",
           f"ns: [ns1.{zone}]", "records: |", "  ns1 IN A 127.0.0.1", "clusters:"]
    for name, peer_tls, members in clusters:
        out.append(f"  - name: {name}" if name else "  - registration: false")
        out.append(f"    peer_tls: {'true' if peer_tls else 'false'}")
        out.extend(f"    {line}" for line in (extra or {}).get(name, []))
        out.append("    members:")
        for member, host, address in members:
            out.append(f"      - {{ name: {member}, host: {host}, addresses: [{address}] }}")
    return "\n".join(out) + "\n"


def main(scenarios):
    """Command line: run.py SCENARIO --dnsd PATH."""
    enter_namespace()
    name = sys.argv[1]
    dnsd = sys.argv[sys.argv.index("--dnsd") + 1]
    h = Harness(dnsd, name)
    failed = True
    problems = []
    try:
        scenarios[name](h)
        failed = False
    finally:
        elapsed = time.monotonic() - h.started
        problems = h.close(failed)
        for p in problems:
            print(f"FAIL: {p}")
        print(f"{name}: {'passed' if not (failed or problems) else 'FAILED'} in {elapsed:.1f}s")
    return 1 if problems else 0
