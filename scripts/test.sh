#!/usr/bin/env bash
# Installs what is missing, builds Kiln and runs the test suite (what CI runs): every test but those
# labelled `slow`. `scripts/test.sh --all` runs those too; other arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
filter=(-LE slow)
if [ "${1:-}" = "--all" ]; then
  filter=()
  shift
fi
ctest --test-dir build --output-on-failure -j2 "${filter[@]}" "$@"
