#!/usr/bin/env bash
# Sets up (apt packages, Release build) and runs every test of every test project.
# PC/SC tests get their own pcscd: the test run happens inside private mount, network and PID namespaces
# (unshare, needs root), so the machine's pcscd is never touched. Ends with "N passed, N failed[, N skipped]".
# Usage: scripts/test.sh [extra dotnet test args, e.g. --filter FullyQualifiedName~Piv]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [ "$(id -u)" -ne 0 ]; then
  exec sudo --preserve-env=PATH,DOTNET_ROOT,HOME "$0" "$@"
fi
scripts/setup.sh

results="$root/artifacts/test-results"
export CARDKEEP_TEST_ARTIFACTS="$root/artifacts/test-artifacts"
rm -rf "$results" "$CARDKEEP_TEST_ARTIFACTS"
mkdir -p "$results" "$CARDKEEP_TEST_ARTIFACTS"

set +e
unshare --mount --net --pid --fork --mount-proc --propagation private \
  "$root/scripts/test-in-namespace.sh" "$results" "$@"
status=$?
set -e

python3 - "$results" <<'PY' || true
import glob, sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
for f in glob.glob(sys.argv[1] + "/**/*.trx", recursive=True):
    c = ET.parse(f).getroot().find("t:ResultSummary/t:Counters", ns)
    passed += int(c.get("passed")); failed += int(c.get("failed")) + int(c.get("error", 0)) + int(c.get("timeout", 0)) + int(c.get("aborted", 0))
    skipped += int(c.get("notExecuted", 0))
line = f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else "")
open(sys.argv[1] + "/summary.txt", "w").write(line + "\n")
PY
if [ ! -s "$results/summary.txt" ]; then echo "0 passed, 1 failed" > "$results/summary.txt"; fi
if [ "$status" -ne 0 ] && grep -q ", 0 failed" "$results/summary.txt"; then
  # dotnet test failed without a failed test (build or host crash): count it as a failure.
  sed -i 's/, 0 failed/, 1 failed/' "$results/summary.txt"
fi
echo
cat "$results/summary.txt"
exit "$status"
