#!/usr/bin/env bash
# The project's checks, in the order a failure is cheapest to find: warnings-as-errors build, then the README's test
# command (`swift test`).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== swift build (warnings are errors)"
swift build --build-tests -Xswiftc -warnings-as-errors
echo "== swift test"
swift test --skip-build
