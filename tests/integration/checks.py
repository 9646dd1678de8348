"""What the Python integration tests share: named checks that print ok/FAIL (ctest fails the test on
"FAIL "), and free loopback ports."""
import random
import socket

failures = []


def check(what, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + what + ("" if ok else f": {detail}"))
    if not ok:
        failures.append(what)


def free_port():
    """A loopback port free for both UDP and TCP, below the kernel's ephemeral range (32768+): a port
    picked there could be taken meanwhile by a client socket of another test (as harness.cpp does)."""
    rng = random.SystemRandom()
    for _ in range(1000):
        port = rng.randrange(20000, 32000)
        if port == 5353:
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
