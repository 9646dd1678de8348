"""What the Python integration tests share: named checks that print ok/FAIL (ctest fails the test on
"FAIL "), free loopback ports, and temporary directories that go when the test passes."""
import atexit
import os
import random
import shutil
import socket
import sys
import tempfile
import time

failures = []
_temp_dirs = []


def temp_dir(prefix):
    """A new directory in /tmp for the test's files; removed when the test exits, unless a check failed
    or an exception ended it (then kept to look at, its path printed)."""
    path = tempfile.mkdtemp(prefix=prefix)
    _temp_dirs.append(path)
    return path


@atexit.register
def _remove_temp_dirs():
    for path in _temp_dirs:
        if failures or hasattr(sys, "last_value"):
            print(f"kept for a look: {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def check(what, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + what + ("" if ok else f": {detail}"))
    if not ok:
        failures.append(what)


PORTS_DIR = "/tmp/dnsd-test-ports"
PORT_HOLD_SECONDS = 3600


def reserve_port(port):
    """Claims a port for this test run against every other test on the machine (harness.cpp claims
    the same way): a test that stops a server and starts it again on its port (the secondary's
    primary, a kill -9 restart) must not find it taken meanwhile by a server of a test running beside
    it (ctest -j2), and dnsd's SO_REUSEPORT sockets would even share it. A claim is a file created
    exclusively; one older than an hour is from an earlier run and is taken over."""
    os.makedirs(PORTS_DIR, exist_ok=True)
    path = f"{PORTS_DIR}/{port}"
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        return True
    except FileExistsError:
        try:
            if time.time() - os.stat(path).st_mtime < PORT_HOLD_SECONDS:
                return False
            os.utime(path)
            return True
        except FileNotFoundError:
            return False


def free_port():
    """A loopback port free for both UDP and TCP and claimed (reserve_port), below the kernel's
    ephemeral range (32768+): a port picked there could be taken meanwhile by a client socket of
    another test (as harness.cpp does)."""
    rng = random.SystemRandom()
    for _ in range(1000):
        port = rng.randrange(20000, 32000)
        if port == 5353 or not reserve_port(port):
            continue
        try:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                with socket.socket(socket.AF_INET, kind) as s:
                    s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def zone_head(zone):
    """The first lines of a test zone file: the zone, its SOA and NS, and ns1's address."""
    return (f"zone: {zone}\nsoa: {{ mname: ns1.{zone}, rname: hostmaster.{zone} }}\nns: [ns1.{zone}]\n"
            "records: |\n  ns1 IN A 127.0.0.1\n")


def start_dnsd(dnsd, tmp, zone_text, port, control=None, extra_conf="", env=None):
    """dnsd serving zone_text (as tmp/zone.yaml) on 127.0.0.1:port with one worker, its control
    endpoint on `control` when given, logging to tmp/dnsd.log. Returns the process (not yet answering)."""
    import subprocess
    with open(f"{tmp}/zone.yaml", "w") as f:
        f.write(zone_text)
    with open(f"{tmp}/dnsd.yaml", "w") as f:
        f.write(f'listen: ["127.0.0.1:{port}"]\nzones: ["zone.yaml"]\nstate_dir: state\nworkers: 1\n')
        if control:
            f.write(f'control: {{ listen: "127.0.0.1:{control}" }}\n')
        f.write(extra_conf)
    log = open(f"{tmp}/dnsd.log", "w")
    return subprocess.Popen([dnsd, "run", "-c", f"{tmp}/dnsd.yaml"], stdout=log, stderr=subprocess.STDOUT, env=env)
