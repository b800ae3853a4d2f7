#!/usr/bin/env bash
# APDU round trips per second through the same pcscd + vpcd stack, side by side in one run:
#   the 9000-only card (the transport's floor), Debian's vicc (python), and CardKeep's live VSC (when built).
# Needs root (private namespaces, so the machine's pcscd is untouched). Usage: bench/transport.sh [SECONDS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-5}"
if [ "${CARDKEEP_BENCH_INNER:-}" != 1 ]; then
  [ "$(id -u)" -eq 0 ] || exec sudo --preserve-env=PATH,DOTNET_ROOT,HOME "$0" "$@"
  "$root/scripts/setup.sh" >&2
  dotnet build "$root/bench/CardKeep.Bench" -c Release -nologo -clp:ErrorsOnly >&2
  exec env CARDKEEP_BENCH_INNER=1 unshare --mount --net --pid --fork --mount-proc --propagation private "$0" "$@"
fi

mount -t tmpfs tmpfs /run/pcscd; ip link set lo up
out="$root/artifacts/bench"; mkdir -p "$out"
"$root/scripts/private-pcscd.sh" "$out/pcscd.log" &
bench="dotnet $root/bench/CardKeep.Bench/bin/Release/net10.0/CardKeep.Bench.dll"
for i in $(seq 50); do [ -S /run/pcscd/pcscd.comm ] && break; sleep 0.1; done
sleep 1

shim=$(mktemp -d); ln -s /usr/lib/python3/dist-packages/Cryptodome "$shim/Crypto"
PYTHONPATH="/usr/lib/python3/site-packages/virtualsmartcard:$shim" /usr/bin/python3 /usr/bin/vicc -t iso7816 -P 35963 > "$out/vicc.log" 2>&1 &
$bench serve-fixed --port 35964 > "$out/fixed.log" 2>&1 &
sleep 3

echo "# transport: $seconds s per card, APDU SELECT MF (00A4000C023F00), $(date -u +%FT%TZ), $(nproc) cores"
$bench transport --reader "Virtual PCD 00 01" --seconds "$seconds"     # 9000-only card: pcscd + vpcd floor
$bench transport --reader "Virtual PCD 00 00" --seconds "$seconds"     # vicc -t iso7816
