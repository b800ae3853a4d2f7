#!/usr/bin/env bash
# The virtual smart card, side by side in one run, on one private pcscd + vpcd:
#   1. APDU round trips per second: the 9000-only card (the transport's floor), Debian's vicc, CardKeep's live VSC.
#   2. Signatures per second through PKCS#11 -> OpenSC -> pcscd -> VSC: ECDSA P-256 and RSA-2048.
# Needs root (private namespaces; the machine's pcscd is untouched). Usage: bench/vsc.sh [SECONDS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-5}"
if [ "${CARDKEEP_BENCH_INNER:-}" != 1 ]; then
  [ "$(id -u)" -eq 0 ] || exec sudo --preserve-env=PATH,DOTNET_ROOT,HOME "$0" "$@"
  "$root/scripts/setup.sh" >&2
  dpkg-query -W -f='${Status}' python3-pykcs11 2>/dev/null | grep -q "install ok" || apt-get install -y -qq python3-pykcs11 >&2
  dotnet build "$root/bench/CardKeep.Bench" -c Release -nologo -clp:ErrorsOnly >&2
  exec env CARDKEEP_BENCH_INNER=1 unshare --mount --net --pid --fork --mount-proc --propagation private "$0" "$@"
fi

mount -t tmpfs tmpfs /run/pcscd; ip link set lo up
out="$root/artifacts/bench"; mkdir -p "$out"
"$root/scripts/private-pcscd.sh" "$out/pcscd.log" &
for i in $(seq 50); do [ -S /run/pcscd/pcscd.comm ] && break; sleep 0.1; done
sleep 1
bench="dotnet $root/bench/CardKeep.Bench/bin/Release/net10.0/CardKeep.Bench.dll"
cardkeep="dotnet $root/src/CardKeep.Cli/bin/Release/net10.0/cardkeep.dll"
export CARDKEEP_HOME; CARDKEEP_HOME=$(mktemp -d)
tools=$(mktemp -d); export HOME="$tools" OPENSC_CONF="$tools/opensc.conf"
printf 'app default {\n framework pkcs15 {\n  use_file_caching = no;\n }\n}\n' > "$OPENSC_CONF"

shim=$(mktemp -d); ln -s /usr/lib/python3/dist-packages/Cryptodome "$shim/Crypto"
PYTHONPATH="/usr/lib/python3/site-packages/virtualsmartcard:$shim" /usr/bin/python3 /usr/bin/vicc -t iso7816 -P 35963 > "$out/vicc.log" 2>&1 &
$bench serve-fixed --port 35964 > "$out/fixed.log" 2>&1 &
for id in bench-ec bench-rsa; do
  CARDKEEP_PIN=b3nchpin CARDKEEP_PUK=b3nchpuk $cardkeep vsc new --id "$id" < /dev/null > /dev/null 2>&1
done
$cardkeep vsc insert bench-ec --slot 2 > "$out/vsc-ec.log" 2>&1 &
$cardkeep vsc insert bench-rsa --slot 3 > "$out/vsc-rsa.log" 2>&1 &
sleep 3
for pair in "Virtual PCD 2 00 00:ECCP256" "Virtual PCD 2 00 01:RSA2048"; do
  reader=${pair%:*}; alg=${pair##*:}
  yubico-piv-tool -r "$reader" -a generate -s 9a -A "$alg" -o "$tools/pub.pem" > /dev/null 2>&1
  openssl x509 -new -subj "/CN=bench $alg" -key "$tools/ca.key" -force_pubkey "$tools/pub.pem" -out "$tools/cert.pem" 2>/dev/null \
    || { openssl ecparam -genkey -name prime256v1 -out "$tools/ca.key" 2>/dev/null; openssl x509 -new -subj "/CN=bench $alg" -key "$tools/ca.key" -force_pubkey "$tools/pub.pem" -out "$tools/cert.pem"; }
  yubico-piv-tool -r "$reader" -a import-certificate -s 9a -i "$tools/cert.pem" > /dev/null 2>&1
done

echo "# bench/vsc.sh $seconds  ($(date -u +%FT%TZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
echo "## APDU round trips through pcscd + vpcd (one PC/SC client, one APDU at a time)"
$bench transport --reader "Virtual PCD 00 01" --seconds "$seconds"                  # 9000-only card: the floor
$bench transport --reader "Virtual PCD 00 00" --seconds "$seconds"                  # vicc -t iso7816, SELECT MF
$bench transport --reader "Virtual PCD 2 00 00" --seconds "$seconds"                # VSC, SELECT MF (answered 6A82: not an ISO file system)
$bench transport --reader "Virtual PCD 2 00 00" --setup 00A4040009A0000003080000100000 --apdu 00CB3FFF055C035FC10200 --seconds "$seconds"  # VSC, GET DATA CHUID
echo "## Signatures through PKCS#11 (opensc-pkcs11.so) -> pcscd -> VSC, logged in once"
/usr/bin/python3 "$root/bench/pkcs11_sign.py" /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so "Virtual PCD 2 00 00" b3nchpin 01 ECDSA "$seconds"
/usr/bin/python3 "$root/bench/pkcs11_sign.py" /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so "Virtual PCD 2 00 01" b3nchpin 01 RSA-PKCS "$seconds"
