#!/usr/bin/env bash
# Sets up (first run) and runs the cardkeep command line: scripts/cardkeep.sh [ARGS...]
# Without arguments it runs the CardKeep server on its embedded SQLite default (cardkeep server; see docs/server.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dll="$root/src/CardKeep.Cli/bin/Release/net10.0/cardkeep.dll"
stamp="$root/artifacts/build.stamp"
if [ ! -f "$dll" ] || [ ! -f "$stamp" ] || [ -n "$(find "$root/src" "$root/Directory.Build.props" "$root/Directory.Packages.props" \( -name '*.cs' -o -name '*.cshtml' -o -name '*.csproj' -o -name '*.props' \) -newer "$stamp" -print -quit)" ]; then
  "$root/scripts/setup.sh"
fi
if [ $# -eq 0 ]; then set -- server; fi
exec dotnet "$dll" "$@"
