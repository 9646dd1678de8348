#!/usr/bin/python3
"""Every YAML block of README.md is backed by a file: each block (dedented) is split at lines
`# PATH[: comment]` naming a file of the repository, and the lines under each such header must appear,
in order and together, in that file; a block without a header fails. Then every configuration those
files belong to (conf/dnsd.yaml and docs/examples/*/dnsd.yaml) passes `dnsd check`.
Usage: readme_examples_test.py DNSD SOURCE_DIR"""
import glob
import os
import re
import subprocess
import sys
import textwrap

from checks import check, failures

DNSD, SRC = sys.argv[1], sys.argv[2]
HEADER = re.compile(r"^# ((?:conf|docs/examples|zones|systemd)/[^\s:]+\.yaml)(?::.*)?$")


def contains(text_lines, part):
    """Whether `part` (a list of lines) appears contiguously in text_lines."""
    n = len(part)
    return any(text_lines[i:i + n] == part for i in range(len(text_lines) - n + 1))


def main():
    readme = open(os.path.join(SRC, "README.md")).read()
    blocks = re.findall(r"^( *)```yaml\n(.*?)^ *```", readme, re.S | re.M)
    check("README has YAML blocks", len(blocks) >= 8, len(blocks))
    for i, (indent, body) in enumerate(blocks, 1):
        lines = textwrap.dedent(body).rstrip("\n").split("\n")
        first = HEADER.match(lines[0])
        if not first:
            check(f"block {i} names its file in its first line", False, lines[0])
            continue
        segments, current = [], None
        for line in lines:
            m = HEADER.match(line)
            if m:
                current = (m.group(1), [])
                segments.append(current)
            else:
                current[1].append(line)
        for path, part in segments:
            full = os.path.join(SRC, path)
            ok = os.path.isfile(full) and contains(open(full).read().rstrip("\n").split("\n"), part)
            check(f"block {i}: its {len(part)} line(s) under '# {path}' are in that file", ok, "\n".join(part))
    configs = [os.path.join(SRC, "conf/dnsd.yaml")] + sorted(glob.glob(os.path.join(SRC, "docs/examples/*/dnsd.yaml")))
    for conf in configs:
        r = subprocess.run([DNSD, "check", "--quiet", "-c", conf], capture_output=True, text=True, timeout=60)
        check(f"dnsd check {os.path.relpath(conf, SRC)}", r.returncode == 0 and r.stdout == "", r.stderr[-2000:])
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
