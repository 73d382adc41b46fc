import CaduceusFuzzing

/// libFuzzer entry point for `FuzzTargets.ocsp` (built by scripts/fuzz.sh with `--sanitize fuzzer`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    do { try FuzzTargets.ocsp(bytes) } catch { fatalError("invariant violated: \(error)") }
    return 0
}
