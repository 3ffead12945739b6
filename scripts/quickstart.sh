#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install, build Kiln, compile LeNet-5 into a native
# library, build the demo program against its header and static library, and run it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
build/bin/kiln compile examples/lenet5/lenet5.kiln -o out/lenet5
cmake -G Ninja -S examples/lenet5 -B out/lenet5-demo -DLENET5_DIR="$PWD/out/lenet5" > /dev/null
cmake --build out/lenet5-demo > /dev/null
out/lenet5-demo/lenet5_demo
