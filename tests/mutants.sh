#!/usr/bin/env bash
# Mutation check: does each claim in tests/mutants.txt have a test that fails when the code breaks it?
# Copies the working tree to a scratch directory once, then for each mutant: applies it, builds
# (incrementally), runs the fast tiers through ctest (unit and integration; with --e2e the end-to-end
# tier too), records which tests failed, and restores the file. Prints a table: each mutant and the
# tests that killed it, or SURVIVED. Not part of `make test`; run it before resolving an issue that
# claims a behaviour. Exit status 1 when a mutant survived or did not apply.
# Usage: tests/mutants.sh [--e2e] [NAME...]     (MUTANTS_DIR: the scratch directory, /tmp/dnsd-mutants)
#        tests/mutants.sh --check   only checks that every mutant still applies (its text occurs once in
#                                   its file), so code moving under a claim is noticed (ctest runs it)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = --check ]; then
  exec /usr/bin/python3 - "$src" <<'PY'
import os, sys
src, stale = sys.argv[1], 0
for n, line in enumerate(open(os.path.join(src, "tests/mutants.txt")), 1):
    if not line.strip() or line.startswith("#"):
        continue
    parts = [p.strip() for p in line.rstrip("\n").split(":::")]
    if len(parts) != 5:
        print(f"tests/mutants.txt:{n}: not five fields"); stale += 1; continue
    name, path, old = parts[0], parts[1], parts[2].replace("\\n", "\n")
    try:
        count = open(os.path.join(src, path)).read().count(old)
    except OSError as e:
        count, path = 0, f"{path} ({e.strerror})"
    if count != 1:
        print(f"tests/mutants.txt:{n}: mutant {name}: its text occurs {count} times in {path}, not once")
        stale += 1
print(f"{stale} stale mutants" if stale else "every mutant applies")
sys.exit(1 if stale else 0)
PY
fi
labels='unit|integration'
names=()
for a in "$@"; do
  if [ "$a" = --e2e ]; then labels='unit|integration|e2e'; else names+=("$a"); fi
done
work=${MUTANTS_DIR:-/tmp/dnsd-mutants}
mkdir -p "$work/src"
# The working tree as git sees it (tracked and untracked, not ignored), uncommitted changes included.
# Files are copied by content, each changed one stamped now: make then rebuilds exactly what changed
# (tar's preserved times could be older than objects built from an earlier copy).
(cd "$src" && git ls-files -z --cached --others --exclude-standard) |
  /usr/bin/python3 -c '
import os, shutil, sys
src, dst = sys.argv[1], sys.argv[2]
for rel in sys.stdin.read().split("\0"):
    if not rel or not os.path.isfile(os.path.join(src, rel)):
        continue
    a, b = os.path.join(src, rel), os.path.join(dst, rel)
    if os.path.exists(b) and open(a, "rb").read() == open(b, "rb").read():
        continue
    os.makedirs(os.path.dirname(b), exist_ok=True)
    shutil.copyfile(a, b)
    shutil.copymode(a, b)
' "$src" "$work/src"
cmake -S "$work/src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release > /dev/null
echo "building the unmutated tree once..." >&2
cmake --build "$work/build" -j2 > "$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }

/usr/bin/python3 - "$src/tests/mutants.txt" "$work" "$labels" "${names[@]}" <<'PY'
import os, re, shutil, subprocess, sys, time
spec, work, labels, wanted = sys.argv[1], sys.argv[2], sys.argv[3], set(sys.argv[4:])
mutants = []
for line in open(spec):
    if not line.strip() or line.startswith("#"):
        continue
    parts = [p.strip() for p in line.rstrip("\n").split(":::")]
    if len(parts) != 5:
        sys.exit(f"mutants.txt: bad line: {line}")
    name, path, old, new, claim = parts
    if not wanted or name in wanted:
        mutants.append((name, path, old.replace("\\n", "\n"), new.replace("\\n", "\n"), claim))
rows, bad = [], 0
for name, path, old, new, claim in mutants:
    target = os.path.join(work, "src", path)
    original = open(target).read()
    if original.count(old) != 1:
        rows.append((name, claim, f"NOT APPLIED ({original.count(old)} matches)"))
        bad += 1
        continue
    started = time.monotonic()
    try:
        open(target, "w").write(original.replace(old, new))
        build = subprocess.run(["cmake", "--build", os.path.join(work, "build"), "-j2"], capture_output=True, text=True)
        if build.returncode != 0:
            rows.append((name, claim, "killed by the compiler"))
            continue
        # unit.mutants_apply fails on any mutated tree: it would "kill" every mutant.
        test = subprocess.run(["ctest", "-L", labels, "-E", "mutants_apply", "-j2", "--timeout", "120"], cwd=os.path.join(work, "build"),
                              capture_output=True, text=True)
        failed = re.findall(r"^\s*\d+ - (.+) \([^()]*\)\s*$", test.stdout.split("The following tests FAILED:")[-1] if "FAILED:" in test.stdout else "", re.M)
        if failed:
            shown = ", ".join(failed[:4]) + (f" (+{len(failed) - 4} more)" if len(failed) > 4 else "")
            rows.append((name, claim, f"killed by {len(failed)}: {shown}"))
        else:
            rows.append((name, claim, "SURVIVED"))
            bad += 1
    finally:
        open(target, "w").write(original)
    print(f"{name}: {rows[-1][2]} ({time.monotonic() - started:.0f}s)", file=sys.stderr, flush=True)
subprocess.run(["cmake", "--build", os.path.join(work, "build"), "-j2"], capture_output=True)  # back to unmutated
print("| mutant | claim broken | result |")
print("|---|---|---|")
for name, claim, result in rows:
    print(f"| {name} | {claim} | {result} |")
sys.exit(1 if bad else 0)
PY
