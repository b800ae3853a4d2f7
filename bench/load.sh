#!/usr/bin/env bash
# Load figures for docs/benchmarks.md: the same mix against a `cardkeep server` process on SQLite and on PostgreSQL
# (a throwaway cluster: initdb + pg_ctl as the postgres user in a temp folder, removed at the end; needs root).
# Usage: sudo bench/load.sh [SECONDS] [CLIENTS] [MIX]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-20}"; clients="${2:-32}"; mix="${3:-default}"
cd "$root"
dotnet build -c Release src/CardKeep.Cli >/dev/null
dotnet build -c Release bench/CardKeep.Bench >/dev/null
bench=(dotnet bench/CardKeep.Bench/bin/Release/net10.0/CardKeep.Bench.dll load --cardkeep src/CardKeep.Cli/bin/Release/net10.0/cardkeep.dll
  --mix "$mix" --clients "$clients" --seconds "$seconds" --warmup 5 --users 200 --accounts 64 --records 20)

echo "## SQLite"
"${bench[@]}"

bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
pg="$(mktemp -d /tmp/cardkeep-load-pg.XXXXXX)"
chown postgres:postgres "$pg"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
trap 'runuser -u postgres -- "$bin/pg_ctl" -D "$pg/data" -m immediate -w stop >/dev/null 2>&1 || true; rm -rf "$pg"' EXIT
runuser -u postgres -- "$bin/initdb" -D "$pg/data" -A trust -U postgres -E UTF8 >/dev/null
runuser -u postgres -- "$bin/pg_ctl" -D "$pg/data" -l "$pg/server.log" -w \
  -o "-k $pg -p $port -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
runuser -u postgres -- "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE cardkeep"
echo
echo "## PostgreSQL ($("$bin/postgres" --version))"
"${bench[@]}" --db "Host=127.0.0.1;Port=$port;Username=postgres;Database=cardkeep;Maximum Pool Size=100"
