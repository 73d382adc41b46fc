// swift-tools-version:6.1
import PackageDescription

// libFuzzer executables, one per parser fuzz target. The logic lives in the root package's `CaduceusFuzzing` library;
// each executable only hands libFuzzer's bytes to it. Build and run them with scripts/fuzz.sh, which builds with
// `--sanitize fuzzer --sanitize address` into .build-fuzz; the root package's own `swift build` never builds them.
let package = Package(
    name: "CaduceusFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Caduceus", path: "..")],
    targets: [
        .executableTarget(name: "fuzz-hl7", dependencies: [.product(name: "CaduceusFuzzing", package: "Caduceus")], path: "Sources/fuzz-hl7"),
        .executableTarget(name: "fuzz-hl7batch", dependencies: [.product(name: "CaduceusFuzzing", package: "Caduceus")], path: "Sources/fuzz-hl7batch"),
        .executableTarget(name: "fuzz-mllp", dependencies: [.product(name: "CaduceusFuzzing", package: "Caduceus")], path: "Sources/fuzz-mllp"),
        .executableTarget(name: "fuzz-smime", dependencies: [.product(name: "CaduceusFuzzing", package: "Caduceus")], path: "Sources/fuzz-smime"),
        .executableTarget(name: "fuzz-multipart", dependencies: [.product(name: "CaduceusFuzzing", package: "Caduceus")], path: "Sources/fuzz-multipart"),
        .executableTarget(name: "fuzz-cms", dependencies: [.product(name: "CaduceusFuzzing", package: "Caduceus")], path: "Sources/fuzz-cms"),
        .executableTarget(name: "fuzz-pkcs12", dependencies: [.product(name: "CaduceusFuzzing", package: "Caduceus")], path: "Sources/fuzz-pkcs12"),
        .executableTarget(name: "fuzz-xml", dependencies: [.product(name: "CaduceusFuzzing", package: "Caduceus")], path: "Sources/fuzz-xml"),
        .executableTarget(name: "fuzz-cda", dependencies: [.product(name: "CaduceusFuzzing", package: "Caduceus")], path: "Sources/fuzz-cda"),
        .executableTarget(name: "fuzz-dicom", dependencies: [.product(name: "CaduceusFuzzing", package: "Caduceus")], path: "Sources/fuzz-dicom"),
        .executableTarget(name: "fuzz-jws", dependencies: [.product(name: "CaduceusFuzzing", package: "Caduceus")], path: "Sources/fuzz-jws"),
        .executableTarget(name: "fuzz-syslog", dependencies: [.product(name: "CaduceusFuzzing", package: "Caduceus")], path: "Sources/fuzz-syslog"),
        .executableTarget(name: "fuzz-syslogframer", dependencies: [.product(name: "CaduceusFuzzing", package: "Caduceus")], path: "Sources/fuzz-syslogframer"),
        .executableTarget(name: "fuzz-csv", dependencies: [.product(name: "CaduceusFuzzing", package: "Caduceus")], path: "Sources/fuzz-csv"),
        .executableTarget(name: "fuzz-ocsp", dependencies: [.product(name: "CaduceusFuzzing", package: "Caduceus")], path: "Sources/fuzz-ocsp"),
    ]
)
