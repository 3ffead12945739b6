#!/usr/bin/env bash
# Configures (once) and builds Kiln into build/ with Ninja.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build
