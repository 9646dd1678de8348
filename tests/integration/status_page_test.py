#!/usr/bin/python3
"""The status page at GET / of the control endpoint, rendered by headless Chromium (Debian's
chromium) from a running dnsd with one healthy and one unhealthy member: the DOM shows the zone and
its serial, the cluster, each member with its health, and the unhealthy one's last error; the page
loads nothing from elsewhere. A phone-sized screenshot is kept as a test artefact.
Usage: status_page_test.py DNSD SCREENSHOT_PATH"""
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

from checks import check, failures, free_port, start_dnsd, temp_dir, zone_head

DNSD, SHOT = sys.argv[1], sys.argv[2]
ZONE = "lab.example.com"


def chromium(*args):
    return subprocess.run(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-dev-shm-usage", f"--user-data-dir={temp_dir('dnsd-chromium-')}",
                           *args], capture_output=True, text=True, timeout=120)


def main():
    if not shutil.which("chromium"):
        print("FAIL chromium is not installed (make test-deps installs it)")
        return 1
    tmp = temp_dir("dnsd-status-")

    class Health(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = b'{"health":"true"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    etcd_port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", etcd_port), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    port, control, closed = free_port(), free_port(), free_port()
    proc = start_dnsd(DNSD, tmp, zone_head(ZONE) + f"""clusters:
  - name: c1
    health: {{ interval: 300ms, timeout: 250ms, rise: 1, fall: 1 }}
    members:
      - {{ name: good, host: good.{ZONE}, addresses: [127.0.0.1], client_port: {etcd_port} }}
      - {{ name: bad, host: bad.{ZONE}, addresses: [127.0.0.1], client_port: {closed} }}
""", port, control)
    base = f"http://127.0.0.1:{control}"
    try:
        def states():
            try:
                z = json.loads(urllib.request.urlopen(f"{base}/v1/zones", timeout=2).read())
                return {m["name"]: m["health"] for m in z["zones"][0]["clusters"][0]["members"]}
            except OSError:
                return {}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and states() != {"good": "healthy", "bad": "unhealthy"}:
            time.sleep(0.1)
        check("probes: one healthy, one unhealthy", states() == {"good": "healthy", "bad": "unhealthy"}, states())

        with urllib.request.urlopen(f"{base}/", timeout=5) as r:
            page, ctype = r.read().decode(), r.headers.get("Content-Type", "")
        check("GET / is HTML", ctype.startswith("text/html") and page.startswith("<!doctype html>"), ctype)
        check("self-contained: no src=, href= or url() to load", not re.search(r"\b(src|href)\s*=|url\(", page))
        check("readable on a phone: a viewport and a narrow-screen layout",
              'name="viewport"' in page and "@media (max-width" in page)

        r = chromium("--virtual-time-budget=5000", "--dump-dom", f"{base}/")
        dom = r.stdout
        good = re.search(r'<tr class="member health-healthy" data-member="good" data-health="healthy">(.*?)</tr>', dom)
        bad = re.search(r'<tr class="member health-unhealthy" data-member="bad" data-health="unhealthy">(.*?)</tr>', dom)
        check("rendered: the zone and its serial", f'data-zone="{ZONE}."' in dom and re.search(r"serial \d+", dom), dom[-3000:])
        check("rendered: the cluster", 'data-cluster="c1"' in dom and "1/2 healthy" in dom)
        check("rendered: the healthy member, probed moments ago", good and "healthy" in good.group(1) and " s ago" in good.group(1),
              good and good.group(1))
        check("rendered: the unhealthy member with its last error", bad and "unhealthy" in bad.group(1) and
              re.search(r"connect|refused|failed", bad.group(1)), bad and bad.group(1))
        check("no error shown", '<div id="error"></div>' in dom)

        os.makedirs(os.path.dirname(os.path.abspath(SHOT)), exist_ok=True)
        chromium("--virtual-time-budget=5000", "--window-size=412,915", "--hide-scrollbars", f"--screenshot={SHOT}", f"{base}/")
        size = os.path.getsize(SHOT) if os.path.exists(SHOT) else 0
        check(f"a phone-sized screenshot kept at {SHOT}", size > 5000, size)
    finally:
        proc.terminate()
        check("dnsd stopped cleanly", proc.wait(10) == 0)
        server.shutdown()
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
