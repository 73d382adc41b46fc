#!/usr/bin/env bash
# The project's test command (README): installs test prerequisites, then runs every Swift Testing suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build --build-tests --explicit-target-dependency-import-check error
swift test --skip-build "$@"
