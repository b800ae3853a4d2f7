#!/usr/bin/env bash
# Installs everything CardKeep needs on Debian 12 (idempotent) and builds it in Release.
# Usage: scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  pcscd libpcsclite1 vsmartcard-vpcd vsmartcard-vpicc python3-virtualsmartcard python3-pycryptodome
  opensc pcsc-tools yubico-piv-tool openssl openssh-client openssh-server pamtester libsodium23
  zbar-tools
  iproute2 procps util-linux ca-certificates
  chromium
  postgresql
)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # The distribution's pcscd socket unit must not grab /run/pcscd while tests run their own.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET 10 SDK is required (https://dotnet.microsoft.com/download); 'dotnet' is not on PATH" >&2
  exit 1
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
if [ "${1:-}" != "--no-build" ]; then
  dotnet build CardKeep.slnx -c Release -nologo -clp:ErrorsOnly >&2
  # cardkeep.sh rebuilds when a source is newer than this stamp (MSBuild leaves unchanged outputs' times alone).
  mkdir -p artifacts && touch artifacts/build.stamp
fi
