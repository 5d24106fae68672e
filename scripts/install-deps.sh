#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the local run need; a no-op when all are present.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libhiredis-dev redis-server redis-tools libgtest-dev libgmock-dev libbenchmark-dev
  prometheus-cpp-dev libcivetweb-dev libcurl4-openssl-dev
  libyaml-cpp-dev
  nlohmann-json3-dev
  libcli11-dev
  python3
  python3-grpcio
  python3-protobuf
  python3-yaml
  curl
  # One package per line below this point, so parallel additions merge cleanly.
  chromium
  libssl-dev
  fonts-dejavu-core
  openssl
  clang
  libclang-rt-14-dev
  libgoogle-perftools-dev
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
