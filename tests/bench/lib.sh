# Helpers the bench scripts share; sourced, never run. Not part of `make test`.

# median [FORMAT]: the median of the numbers on stdin, printed with FORMAT (printf, default %.1f).
median() {
  sort -g | awk -v f="${1:-%.1f}" '{v[NR] = $1} END {printf f, NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# first_answer PORT ZONE LOG COMMAND...: starts COMMAND (output to LOG) and returns once 127.0.0.1#PORT
# answers ZONE's SOA with its ns1 name server (first_answer.py: a query every millisecond). Sets t
# (seconds from the start), rss (KiB, then) and server (the pid; stop it with stop_server). Exits,
# showing LOG, if it dies first.
first_answer() {
  local port=$1 zone=$2 log=$3 out
  shift 3
  out=$(/usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/first_answer.py" "$port" "$zone" "$log" "$@") || exit 1
  read -r t rss server <<< "$out"
}

# stop_server: stops what first_answer started (and what it started in turn: heaptrack's dnsd).
stop_server() {
  pkill -P "$server" 2>/dev/null || true
  kill "$server" 2>/dev/null || true
  while kill -0 "$server" 2>/dev/null; do sleep 0.01; done  # not our child: no wait
}
