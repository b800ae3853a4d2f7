#!/usr/bin/env bash
# Runs inside `unshare --mount --net --pid --fork`: a tmpfs over /run/pcscd and a loopback of our own, so the
# test run's pcscd (started by the tests' fixture) and vpcd ports cannot clash with the machine's.
set -euo pipefail
results="$1"; shift
mkdir -p /run/pcscd
mount -t tmpfs -o mode=0755 tmpfs /run/pcscd
ip link set lo up
export CARDKEEP_TEST_NAMESPACE=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
cd "$(dirname "$0")/.."
dotnet test CardKeep.slnx -c Release --no-build --results-directory "$results" \
  --logger "trx" --logger "console;verbosity=normal" "$@"
