#!/usr/bin/env bash
# Installs the Debian packages omniroute builds with, if any is missing. Idempotent.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libabsl-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libboost-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  librocksdb-dev
  libssl-dev openssl  # TLS (PEM checks, token hashes); the security tests make their certificates
  python3-grpcio python3-protobuf
  chromium chromium-driver  # the wallboard's end-to-end test drives the page in Chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "omniroute: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
