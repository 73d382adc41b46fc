#!/usr/bin/env bash
# Builds the libFuzzer executables (Fuzz/, a nested package over the CaduceusFuzzing library) with the fuzzer and
# address sanitizers, then runs each target for a bounded time over its seed corpus and prints, per target, the runs,
# the coverage and whether it crashed, hung or blew its memory limit.
#
#   scripts/fuzz.sh [seconds-per-target] [target...]
#
# Default: 30 s for every target (a smoke run); the full battery is 600 s per target. Targets: hl7 hl7batch mllp
# smime multipart cms pkcs12 xml cda dicom jws syslog syslogframer csv ocsp.
#
# Each run: -max_total_time=SECONDS -rss_limit_mb=2048 -timeout=10 (an input taking over 10 s is a hang). New inputs
# libFuzzer finds go to .build-fuzz/corpus/<target>/ (the repository's Fuzz/Corpus/<target>/ is read, never written;
# MERGE=1 merges the new inputs that add coverage back into it). A crash, hang or out-of-memory input is written to
# .build-fuzz/artifacts/<target>/; once fixed, keep it under Fuzz/Crashes/<target>/ as a regression input (the test
# suite replays that folder). Logs: .build-fuzz/logs/<target>.log.
#
# Environment: FUZZ_NICE (default 15), FUZZ_TIMEOUT (default 10), FUZZ_RSS_MB (default 2048), MERGE=1,
# FUZZ_SKIP_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(hl7 hl7batch mllp smime multipart cms pkcs12 xml cda dicom jws syslog syslogframer csv ocsp)
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || { echo "fuzz: unknown target '$t' (known: ${ALL_TARGETS[*]})" >&2; exit 2; }
done

scratch=.build-fuzz
nice_level=${FUZZ_NICE:-15}
build=(swift build --package-path Fuzz --scratch-path "$scratch" -c release --sanitize fuzzer --sanitize address -Xswiftc -parse-as-library)

# The nested package resolves the root's dependencies itself: start from the root's pins (both files are ignored).
if [ -f Package.resolved ]; then cp Package.resolved Fuzz/Package.resolved; fi
if [ "${FUZZ_SKIP_BUILD:-0}" != 1 ]; then
  echo "fuzz: building the fuzz targets into $scratch (release, --sanitize fuzzer --sanitize address)…"
  # Always every product: a `--product` build was seen to leave the rebuilt library modules without coverage
  # instrumentation (libFuzzer then finds nothing), and the build is incremental anyway.
  nice -n "$nice_level" "${build[@]}"
fi
bin=$("${build[@]}" --show-bin-path)

# The Swift runtime's own crash handler would stall libFuzzer's; leak checks are off because the Swift runtime
# allocates caches (metadata, conformances) for the life of the process, which LeakSanitizer reports per input.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}

mkdir -p "$scratch/logs"
printf '\n%-13s %8s %10s %8s %8s %8s  %s\n' target seconds runs cov ft rss_mb result
status=0
for t in "${targets[@]}"; do
  corpus="$scratch/corpus/$t"
  artifacts="$scratch/artifacts/$t/"
  log="$scratch/logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "Fuzz/Corpus/$t"
  start=$(date +%s)
  set +e
  nice -n "$nice_level" "$bin/fuzz-$t" -max_total_time="$seconds" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
    -timeout="${FUZZ_TIMEOUT:-10}" -artifact_prefix="$artifacts" -print_final_stats=1 "$corpus" "Fuzz/Corpus/$t" >"$log" 2>&1
  code=$?
  set -e
  elapsed=$(($(date +%s) - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  [ -z "$runs" ] && runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")
  if [ $code -eq 0 ]; then
    result=ok
  else
    status=1
    kind=$(grep -oE 'ERROR: libFuzzer: [a-z-]+|ERROR: AddressSanitizer: [a-z-]+|Fatal error|SUMMARY: libFuzzer: [a-z -]+' "$log" | head -1)
    artifact=$(ls -t "$artifacts" 2>/dev/null | head -1)
    result="FAILED (exit $code: ${kind:-see $log}) ${artifact:+-> $artifacts$artifact}"
  fi
  printf '%-13s %8s %10s %8s %8s %8s  %s\n' "$t" "$elapsed" "${runs:-?}" "${cov:-?}" "${ft:-?}" "${rss:-?}" "$result"
  if [ "${MERGE:-0}" = 1 ] && [ $code -eq 0 ]; then
    nice -n "$nice_level" "$bin/fuzz-$t" -merge=1 "Fuzz/Corpus/$t" "$corpus" >>"$log" 2>&1 || true
  fi
done
exit $status
