#!/usr/bin/env bash
# Sets up (first run) and runs the cardkeep command line: scripts/cardkeep.sh [ARGS...] (default: --help)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dll="$root/src/CardKeep.Cli/bin/Release/net10.0/cardkeep.dll"
if [ ! -f "$dll" ] || [ -n "$(find "$root/src" -name '*.cs' -newer "$dll" -print -quit)" ]; then
  "$root/scripts/setup.sh"
fi
if [ $# -eq 0 ]; then set -- --help; fi
exec dotnet "$dll" "$@"
