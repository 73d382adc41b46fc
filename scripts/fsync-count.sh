#!/usr/bin/env bash
# Counts the fsync/fdatasync calls behind each acknowledged HL7 message ("accepted means durable"): a
# `caduceus serve --mllp` under strace receives N distinct ADT^A01 from `caduceus hl7 send` over one connection (each
# message waits for its ACK, so no two share a commit) and the script prints fsyncs per acknowledged message. With
# synchronous=FULL on the writer, each commit fsyncs the WAL: expect at least 1 (checkpoints add a few).
#
#   scripts/fsync-count.sh [messages]       (default 200; CADUCEUS=path/to/caduceus, default .build/debug/caduceus)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
bin=${CADUCEUS:-.build/debug/caduceus}
command -v strace >/dev/null || { echo "fsync-count: strace is needed (apt-get install strace)" >&2; exit 2; }
tmp=$(mktemp -d)
pid=""
cleanup() {
  pkill -TERM -f -- "--data $tmp/node" 2>/dev/null || true
  [ -n "$pid" ] && { timeout 10 tail --pid="$pid" -f /dev/null || kill -9 "$pid" 2>/dev/null || true; }
  rm -rf "$tmp"
}
trap cleanup EXIT
python3 - "$n" > "$tmp/adt.hl7" <<'PY'
import sys
n = int(sys.argv[1])
for i in range(n):
    print("\r".join([
        f"MSH|^~\\&|EPIC|GOODHEALTH|CADUCEUS|HOSP1|20260101120000||ADT^A01^ADT_A01|FSYNC{i:06d}|P|2.5.1",
        "EVN|A01|20260101120000",
        f"PID|1||{100000 + i}^^^GOODH&1.2.840.114350.1&ISO^MR||TEST^PATIENT{i}||19800214|F",
        "PV1|1|I|WARD1^101^A",
    ]) + "\r", end="")
PY
strace -f -qq -e trace=fsync,fdatasync -o "$tmp/strace.log" \
  "$bin" serve --data "$tmp/node" --no-https --mllp 127.0.0.1:0 --insecure-plain-mllp --domain 1.2.840.114350.1 > "$tmp/serve.out" 2>&1 &
pid=$!
for _ in $(seq 1 300); do grep -q "mllp listening on" "$tmp/serve.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*mllp listening on [^:]*:\([0-9]*\).*/\1/p' "$tmp/serve.out" | head -1)
[ -n "$port" ] || { echo "fsync-count: the node did not start" >&2; cat "$tmp/serve.out" >&2; exit 1; }
sleep 0.5
before=$(grep -c -E 'fsync|fdatasync' "$tmp/strace.log" || true)
"$bin" hl7 send --to "127.0.0.1:$port" "$tmp/adt.hl7" > "$tmp/send.out"
acked=$(grep -c "AA" "$tmp/send.out" || true)
after=$(grep -c -E 'fsync|fdatasync' "$tmp/strace.log" || true)
fsyncs=$((after - before))
echo "messages acknowledged (AA): $acked of $n"
echo "fsync/fdatasync calls while receiving them: $fsyncs"
python3 -c "import sys; a, f = int(sys.argv[1]), int(sys.argv[2]); print(f'fsyncs per acknowledged message: {f / a:.2f}' if a else 'no message acknowledged')" "$acked" "$fsyncs"
[ "$acked" -eq "$n" ] && [ "$fsyncs" -ge "$acked" ]
