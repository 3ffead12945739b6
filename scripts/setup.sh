#!/usr/bin/env bash
# Installs every Debian 12 package Kiln needs to build, test and run its examples (idempotent).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libhalide14-0-dev
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools libomp-22-dev
  libgtest-dev libgmock-dev libcli11-dev nlohmann-json3-dev
  python3-torch python3-numpy
  libonnx-dev libprotobuf-dev protobuf-compiler python3-onnx
  python3-torchvision libonnx-testdata
  dataset-fashion-mnist gnuplot-nox zlib1g-dev libdnnl-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "setup: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
