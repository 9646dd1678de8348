# Sourced by the shell integration tests: serves the quick-start example (conf/dnsd.yaml's zones) with
# the real binary on a free loopback port, and stops it and removes its files on exit.
# Sets: src, tmp, port, pid. Usage: source serve_example.sh DNSD_BINARY
dnsd=$1
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# A free port below the ephemeral range (see free_port() in harness.cpp for why).
port=$(/usr/bin/python3 - <<'PY'
import random, socket
for _ in range(200):
    p = random.randrange(20000, 32000)
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind); s.bind(("127.0.0.1", p)); s.close()
        print(p); break
    except OSError:
        pass
PY
)
sed -e "s|state_dir: .*|state_dir: $tmp/state|" -e "s|\.\./zones|$src/zones|" -e '/^control:/d' \
  "$src/conf/dnsd.yaml" > "$tmp/dnsd.yaml"
"$dnsd" run -c "$tmp/dnsd.yaml" --listen "127.0.0.1:$port" 2> "$tmp/log" &
pid=$!
for _ in $(seq 100); do dig @127.0.0.1 -p "$port" +time=1 +tries=1 lab.example.com SOA >/dev/null 2>&1 && break; sleep 0.05; done
