# Sourced by the shell integration tests: serves the quick-start example (conf/dnsd.yaml's zones) with
# the real binary on a free loopback port, and stops it and removes its files on exit.
# Sets: src, tmp, port, pid; defines start_dnsd (restarts it) and the checks. dnsd's stderr goes to
# $tmp/log; at exit dnsd must stop cleanly on SIGTERM (exit 0) and its log hold no sanitizer report,
# or the test fails with the log shown. Optional, set before sourcing:
# zone_extra (YAML appended to every example zone), daemon_extra (appended to dnsd.yaml) and a
# function prepare_dnsd (run in $tmp before the first start, e.g. to write key files).
# Usage: source serve_example.sh DNSD_BINARY
dnsd=$1
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tmp=$(mktemp -d)
pid=
cleanup() {
  local rc=$? status=0
  if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || status=$?; fi
  if [ "$status" -ne 0 ] || grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$tmp/log" 2>/dev/null; then
    printf 'dnsd did not stop cleanly (exit %s) or reported a sanitizer error:\n' "$status"
    cat "$tmp/log"
    rc=1
  fi
  rm -rf "$tmp"
  exit "$rc"
}
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
verdict() {  # verdict "what" ok|fail "want" "got"
  if [ "$2" = ok ]; then pass=$((pass + 1)); else fail=$((fail + 1)); printf 'FAIL %s\n  want: %s\n  got: %s\n' "$1" "$3" "$4"; fi
}
check() {  # check "what" "expected substring (\\t = tab)" command...
  local what=$1 want; want=$(printf "%b" "$2"); shift 2
  local got; got=$("$@" 2>&1 || true)
  if grep -qF -- "$want" <<<"$got"; then verdict "$what" ok; else verdict "$what" fail "$want" "$got"; fi
}
check_all() {  # check_all "what" "substring" ... -- command...: every substring must be there
  local what=$1 wants=() want; shift
  while [ "$1" != -- ]; do wants+=("$(printf "%b" "$1")"); shift; done
  shift
  local got; got=$("$@" 2>&1 || true)
  for want in "${wants[@]}"; do
    if ! grep -qF -- "$want" <<<"$got"; then verdict "$what" fail "$want" "$got"; return; fi
  done
  verdict "$what" ok
}
check_none() {  # check_none "what" "substring that must not appear" command...
  local what=$1 unwanted=$2; shift 2
  local got; got=$("$@" 2>&1 || true)
  if grep -qF -- "$unwanted" <<<"$got"; then verdict "$what" fail "no '$unwanted'" "$got"; else verdict "$what" ok; fi
}
check_line() {  # check_line "what" "exact line" command...: one line of the output equals it
  local what=$1 want=$2; shift 2
  local got; got=$("$@" 2>&1 || true)
  if grep -qxF -- "$want" <<<"$got"; then verdict "$what" ok; else verdict "$what" fail "a line '$want'" "$got"; fi
}
