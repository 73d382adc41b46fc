#!/usr/bin/env bash
# The project's test command (README): installs test prerequisites, then runs every Swift Testing suite — in two
# passes: everything but the heavy suites (headless Chromium, the many-thousand-message MLLP batch), then those alone,
# so their CPU does not starve the timing-bound network tests running beside them on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build --build-tests --explicit-target-dependency-import-check error
heavy='PortalBrowserTests|PortalAuditConsoleTests|IngestAsSentTests'
if [ "$#" -gt 0 ]; then
  swift test --skip-build "$@"
else
  swift test --skip-build --skip "$heavy"
  swift test --skip-build --filter "$heavy"
fi
