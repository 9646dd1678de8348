# Helpers the bench scripts share; sourced, never run. Not part of `make test`.

# median [FORMAT]: the median of the numbers on stdin, printed with FORMAT (printf, default %.1f).
median() {
  sort -g | awk -v f="${1:-%.1f}" '{v[NR] = $1} END {printf f, NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# first_answer PORT ZONE LOG COMMAND...: starts COMMAND (output to LOG) and returns once 127.0.0.1#PORT
# answers ZONE's SOA with its ns1 name server (not a ";;" error line). Sets t (seconds from the start),
# rss (KiB, then) and server (the pid; stop it with stop_server). Exits, showing LOG, if it dies first.
first_answer() {
  local port=$1 zone=$2 log=$3 t0 t1
  shift 3
  t0=$(date +%s.%N)
  "$@" > "$log" 2>&1 &
  server=$!
  until dig @127.0.0.1 -p "$port" +time=1 +tries=1 +short SOA "$zone" 2>/dev/null | grep -q "^ns1\."; do
    kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.002
  done
  t1=$(date +%s.%N)
  t=$(echo "$t1 - $t0" | bc)
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$server/status")
}

# stop_server: stops what first_answer started (and what it started in turn: heaptrack's dnsd).
stop_server() {
  pkill -P "$server" 2>/dev/null || true
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
