#!/usr/bin/env bash
# Runs Kiln's benchmarks side by side with the peers: inference vs PyTorch and onnxruntime
# (benchmarks/run.py), training steps vs PyTorch (benchmarks/train_step.py). Extra arguments go
# to run.py (e.g. --threads 1 --workloads conv3x3_64_56_b1). Results: benchmarks/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
[ -d benchmarks/node_modules/onnxruntime-node ] || (cd benchmarks && npm install --ignore-scripts --no-audit --no-fund)
/usr/bin/python3 benchmarks/run.py "$@"
/usr/bin/python3 benchmarks/train_step.py
