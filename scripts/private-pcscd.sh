#!/usr/bin/env bash
# Starts pcscd in the foreground with three vpcd readers (six slots: "Virtual PCD 00 00", "Virtual PCD 00 01",
# "Virtual PCD 2 00 00", … on ports 35963–35968). Run it only inside a private mount+network namespace with a
# tmpfs on /run/pcscd (scripts/test.sh and bench/vsc.sh make one): pcsc-lite 1.9.9 always binds
# /run/pcscd/pcscd.comm. Each reader loads its own copy of libifdvpcd, because the driver keeps slot state in
# static arrays and one loaded copy serving two readers hangs pcscd.
# Usage: scripts/private-pcscd.sh LOGFILE
set -euo pipefail
log="${1:?usage: private-pcscd.sh LOGFILE}"
run=/run/pcscd
driver=$(ls /usr/lib/pcsc/drivers/serial/libifdvpcd.so.* 2>/dev/null | head -n 1)
[ -n "$driver" ] || { echo "vsmartcard-vpcd is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
conf="$run/cardkeep-readers.conf"
: > "$conf"
for reader in 0 1 2; do
  cp "$driver" "$run/libifdvpcd-$reader.so"
  port=$((35963 + 2 * reader))
  name="Virtual PCD"; [ "$reader" -eq 0 ] || name="Virtual PCD $((2 * reader))"
  printf 'FRIENDLYNAME "%s"\nDEVICENAME /dev/null:%d\nLIBPATH %s\nCHANNELID %d\n\n' "$name" "$port" "$run/libifdvpcd-$reader.so" "$port" >> "$conf"
done
exec pcscd --foreground --debug --config "$conf" > "$log" 2>&1
