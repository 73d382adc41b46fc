#!/usr/bin/env bash
# The long battery, run by hand (CI runs the short forms inside the test suite): the 50,000-message MLLP batch, then
# the fuzzers for 600 s per target. Arguments are passed to scripts/fuzz.sh (e.g. `scripts/long.sh 120 hl7batch`).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests --explicit-target-dependency-import-check error
CADUCEUS_BATCH_MESSAGES=50000 swift test --skip-build --filter "IngestAsSentTests/fiftyThousandMessageBatch"
bash scripts/fuzz.sh "${1:-600}" "${@:2}"
