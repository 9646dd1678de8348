#!/usr/bin/python3
"""/metrics is clean under `promtool check metrics` (Debian's prometheus package): every family has
HELP and TYPE, counters end in _total, no duplicate series, after dnsd has answered, probed a member,
sent NOTIFYs and counted rate-limited replies. Usage: metrics_test.py DNSD"""
import subprocess
import sys
import time
import urllib.request

from checks import check, failures, free_port, start_dnsd, temp_dir, zone_head

DNSD = sys.argv[1]
ZONE = "lab.example.com"


def main():
    tmp = temp_dir("dnsd-metrics-")
    port, control = free_port(), free_port()
    proc = start_dnsd(DNSD, tmp, zone_head(ZONE) + f"""transfer: {{ allow: [{{ address: 127.0.0.1/32 }}], notify: [{{ address: "127.0.0.1:9" }}] }}
clusters:
  - name: c1
    health: {{ interval: 200ms, timeout: 150ms }}
    members:
      - {{ name: a, host: a.{ZONE}, addresses: [127.0.0.1], client_port: 9 }}
""", port, control, "rrl: { responses_per_second: 5 }\n")
    try:
        text = ""
        for _ in range(100):
            try:
                text = urllib.request.urlopen(f"http://127.0.0.1:{control}/metrics", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.05)
        for qtype in ("SOA", "A", "TXT", "SRV") * 5:  # answers, NODATA, and some rate-limited
            subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+time=1", "+tries=1", qtype, f"ns1.{ZONE}"],
                           capture_output=True, timeout=10)
        time.sleep(0.6)  # a few probe rounds
        text = urllib.request.urlopen(f"http://127.0.0.1:{control}/metrics", timeout=2).read().decode()
        check("the series exercised are there", 'dnsd_probe_results_total{zone="lab.example.com.",cluster="c1",member="a",result="failure"}'
              in text and "dnsd_queries_total" in text, text[:2000])
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
        check("promtool check metrics: exit 0, nothing to say", r.returncode == 0 and not (r.stdout + r.stderr).strip(),
              f"exit {r.returncode}: {r.stdout} {r.stderr}")
    finally:
        proc.terminate()
        check("dnsd stopped cleanly", proc.wait(10) == 0)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
