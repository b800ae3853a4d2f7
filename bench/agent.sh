#!/usr/bin/env bash
# SSH agent signatures per second, side by side in one run with one client:
#   CardKeep's agent vs OpenSSH's ssh-agent (-D -a), the same ECDSA P-256 and RSA-2048 keys added to both with ssh-add;
#   then card-routed signatures through CardKeep's agent vs the same PIV operation sent directly with PivSession
#   (a live VSC in a vpcd slot of a private pcscd).
# Needs root (private namespaces, so the machine's pcscd is untouched). Usage: bench/agent.sh [SECONDS]
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
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
bench="dotnet $root/bench/CardKeep.Bench/bin/Release/net10.0/CardKeep.Bench.dll"
cardkeep="dotnet $root/src/CardKeep.Cli/bin/Release/net10.0/cardkeep.dll"
"$root/scripts/private-pcscd.sh" "$out/pcscd.log" &
for i in $(seq 50); do [ -S /run/pcscd/pcscd.comm ] && break; sleep 0.1; done

ssh-keygen -q -t ecdsa -b 256 -N '' -C bench-ecdsa -f "$tmp/id_ecdsa"
ssh-keygen -q -t rsa -b 2048 -N '' -C bench-rsa -f "$tmp/id_rsa"
$cardkeep agent --user --socket "$tmp/ck/agent.sock" --state-dir "$tmp/ck/state" > /dev/null 2> "$out/agent.log" &
ssh-agent -D -a "$tmp/openssh.sock" > /dev/null 2> "$out/ssh-agent.log" &
for i in $(seq 100); do [ -S "$tmp/ck/agent.sock" ] && [ -S "$tmp/openssh.sock" ] && break; sleep 0.1; done
SSH_AUTH_SOCK="$tmp/ck/agent.sock" ssh-add -q "$tmp/id_ecdsa" "$tmp/id_rsa"
SSH_AUTH_SOCK="$tmp/openssh.sock" ssh-add -q "$tmp/id_ecdsa" "$tmp/id_rsa"

echo "# $(ssh -V 2>&1), $(dotnet --version) SDK"
$bench agent --socket "cardkeep agent=$tmp/ck/agent.sock" --socket "openssh ssh-agent=$tmp/openssh.sock" \
  --key "$tmp/id_ecdsa.pub" --key "$tmp/id_rsa.pub" --seconds "$seconds"

export CARDKEEP_HOME; CARDKEEP_HOME="$tmp/home"
CARDKEEP_PIN=b3nchpin CARDKEEP_PUK=b3nchpuk $cardkeep vsc new --id bench-agent < /dev/null > /dev/null 2>&1
$cardkeep vsc insert bench-agent --slot 0 > "$out/vsc-agent.log" 2>&1 &
sleep 3
yubico-piv-tool -r "Virtual PCD 00 00" -a generate -s 9a -A ECCP256 -o "$tmp/card9a.pem" > /dev/null 2>&1
$cardkeep agent enroll-card --reader "Virtual PCD 00 00" --pin b3nchpin --api-socket "$tmp/ck/api.sock" > /dev/null
$cardkeep login --pin b3nchpin --api-socket "$tmp/ck/api.sock" > /dev/null
SSH_AUTH_SOCK="$tmp/ck/agent.sock" ssh-add -L | grep 'PIV Authentication' > "$tmp/card9a.pub"
$bench agent-card --reader "Virtual PCD 00 00" --socket "$tmp/ck/agent.sock" --key "$tmp/card9a.pub" --pin b3nchpin --seconds "$seconds"
