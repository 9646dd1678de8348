# Sourced by the shell integration tests: serves the quick-start example (conf/dnsd.yaml's zones) with
# the real binary on a free loopback port, and stops it and removes its files on exit.
# Sets: src, tmp, port, pid; defines start_dnsd (restarts it) and check. Optional, set before sourcing:
# zone_extra (YAML appended to every example zone), daemon_extra (appended to dnsd.yaml) and a
# function prepare_dnsd (run in $tmp before the first start, e.g. to write key files).
# Usage: source serve_example.sh DNSD_BINARY
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
mkdir -p "$tmp/zones"
for f in "$src"/zones/*.yaml; do { cat "$f"; printf '%s' "${zone_extra:-}"; } > "$tmp/zones/${f##*/}"; done
sed -e "s|state_dir: .*|state_dir: $tmp/state|" -e "s|\.\./zones|$tmp/zones|" -e '/^control:/d' \
  "$src/conf/dnsd.yaml" > "$tmp/dnsd.yaml"
printf '%s' "${daemon_extra:-}" >> "$tmp/dnsd.yaml"
if declare -F prepare_dnsd >/dev/null; then (cd "$tmp" && prepare_dnsd); fi
start_dnsd() {
  "$dnsd" run -c "$tmp/dnsd.yaml" --listen "127.0.0.1:$port" 2>> "$tmp/log" &
  pid=$!
  for _ in $(seq 100); do dig @127.0.0.1 -p "$port" +time=1 +tries=1 lab.example.com SOA >/dev/null 2>&1 && break; sleep 0.05; done
}
start_dnsd

pass=0 fail=0
check() {  # check "what" "expected substring (\\t = tab)" command...
  local what=$1 want; want=$(printf "%b" "$2"); shift 2
  local got; got=$("$@" 2>&1 || true)
  if grep -qF -- "$want" <<<"$got"; then pass=$((pass + 1)); else fail=$((fail + 1)); printf 'FAIL %s\n  want: %s\n  got: %s\n' "$what" "$want" "$got"; fi
}
