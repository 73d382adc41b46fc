// swift-tools-version:6.1
import PackageDescription

// Layering (see docs/architecture.md): layer-0 `CaduceusCore` imports nothing of ours; layer-1 pure targets
// (`CaduceusPKI`, `CaduceusCMS`) import no NIO, no Hummingbird, no database driver and no swift-log.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Caduceus",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "caduceus", targets: ["caduceus"]),
        .library(name: "CaduceusCMS", targets: ["CaduceusCMS"]),
        .library(name: "CaduceusPKI", targets: ["CaduceusPKI"]),
        .library(name: "CaduceusHL7", targets: ["CaduceusHL7"]),
        // The parsers' fuzz targets as plain functions, for the libFuzzer executables in Fuzz/ (a nested package).
        .library(name: "CaduceusFuzzing", targets: ["CaduceusFuzzing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        .target(
            name: "CaduceusCore",
            swiftSettings: strictSettings
        ),
        .target(
            name: "CaduceusPKI",
            dependencies: [
                "CaduceusCore",
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // PKCS#11 tokens (SoftHSM2, OpenSC for PIV cards, HSMs): the C declarations only (no library is linked), and
        // a loader that dlopens a module at run time, so the project builds and runs without one.
        .target(
            name: "CCaduceusPKCS11"
        ),
        .target(
            name: "CaduceusPKCS11",
            dependencies: [
                "CCaduceusPKCS11", "CaduceusCore", "CaduceusPKI",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "CaduceusCMS",
            dependencies: [
                "CaduceusCore",
                "CaduceusPKI",
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "CaduceusHL7",
            dependencies: ["CaduceusCore"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "CaduceusDICOM",
            dependencies: ["CaduceusCore"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "CaduceusCDA",
            dependencies: ["CaduceusCore"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "CaduceusDocuments",
            dependencies: ["CaduceusCore"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "CaduceusAudit",
            dependencies: ["CaduceusCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "CaduceusPolicy",
            dependencies: ["CaduceusCore"],
            resources: [.copy("Resources/default-policy.json")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "CaduceusPatientIndex",
            dependencies: ["CaduceusCore"],
            swiftSettings: strictSettings
        ),
        // Layer 2: storage ports (and envelope encryption of PHI at rest), then the SQLite adapter.
        .target(
            name: "CaduceusStorage",
            dependencies: [
                "CaduceusCore", "CaduceusPatientIndex", "CaduceusDocuments", "CaduceusAudit", "CaduceusPolicy",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "CaduceusStorageSQLite",
            dependencies: [
                "CaduceusCore", "CaduceusStorage", "CaduceusPatientIndex", "CaduceusDocuments", "CaduceusAudit", "CaduceusPolicy",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // Layer 3: use cases (HL7 ingest into the registry and the MPI, PIX/PDQ answers).
        .target(
            name: "CaduceusExchange",
            dependencies: [
                "CaduceusCore", "CaduceusHL7", "CaduceusPatientIndex", "CaduceusStorage", "CaduceusDocuments", "CaduceusCDA",
                "CaduceusDICOM", "CaduceusCMS", "CaduceusPKI", "CaduceusAudit", "CaduceusPolicy",
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: strictSettings
        ),
        // Layer 4: federation TLS (mTLS verified by our chain validator), shared by MLLP and HTTPS.
        .target(
            name: "CaduceusTLS",
            dependencies: [
                "CaduceusCore", "CaduceusPKI",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        // Layer 4: the web portal (the stations): server-rendered pages behind the gate, the card as the TLS client
        // certificate, sessions holding a sign-in assertion, CSRF tokens, a safe CDA view.
        // The system's zlib (deflate for PNG), through a module map.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(
            name: "CaduceusPortal",
            dependencies: [
                "CaduceusCore", "CaduceusPKI", "CaduceusExchange", "CaduceusDocuments", "CaduceusCDA", "CaduceusPolicy",
                "CaduceusPatientIndex", "CaduceusStorage", "CaduceusAudit", "CaduceusDICOM", "CZlib", "CaduceusPKCS11",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // Layer 4: the node's HTTPS server (Hummingbird 2, mutual TLS) and its peer client.
        .target(
            name: "CaduceusHTTP",
            dependencies: [
                "CaduceusCore", "CaduceusPKI", "CaduceusCMS", "CaduceusTLS", "CaduceusExchange", "CaduceusDocuments",
                "CaduceusStorage", "CaduceusPolicy", "CaduceusPortal",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        // Layer 4: composition root — a node from its data directory, a whole federation on one machine.
        .target(
            name: "CaduceusApp",
            dependencies: [
                "CaduceusCore", "CaduceusPKI", "CaduceusExchange", "CaduceusHTTP", "CaduceusStorage", "CaduceusStorageSQLite",
                "CaduceusDICOM", "CaduceusAudit", "CaduceusPolicy", "CaduceusSyslog", "CaduceusTLS", "CaduceusPortal", "CaduceusPKCS11",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // Layer 4: the MLLP listener and client on SwiftNIO.
        .target(
            name: "CaduceusMLLP",
            dependencies: [
                "CaduceusCore", "CaduceusHL7", "CaduceusPKI", "CaduceusTLS", "CaduceusExchange",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        // Layer 4: RFC 5425 syslog over (mutual) TLS: the audit repository's listener and the shipper's sender.
        .target(
            name: "CaduceusSyslog",
            dependencies: [
                "CaduceusCore", "CaduceusAudit", "CaduceusPKI", "CaduceusTLS",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "CaduceusCLI",
            dependencies: [
                "CaduceusCore",
                "CaduceusPKI",
                "CaduceusCMS",
                "CaduceusHL7",
                "CaduceusDICOM",
                "CaduceusPatientIndex",
                "CaduceusStorage",
                "CaduceusStorageSQLite",
                "CaduceusExchange",
                "CaduceusMLLP",
                "CaduceusTLS",
                "CaduceusCDA",
                "CaduceusDocuments",
                "CaduceusHTTP",
                "CaduceusApp",
                "CaduceusAudit",
                "CaduceusPolicy",
                "CaduceusPKCS11",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "caduceus",
            dependencies: ["CaduceusCLI"],
            swiftSettings: strictSettings
        ),
        // Fuzz targets for every parser of outside bytes (Fuzz/ builds them with libFuzzer; the corpus replays in tests).
        .target(
            name: "CaduceusFuzzing",
            dependencies: [
                "CaduceusCore", "CaduceusHL7", "CaduceusCDA", "CaduceusDICOM", "CaduceusCMS", "CaduceusPKI",
                "CaduceusDocuments", "CaduceusAudit",
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "CaduceusTestSupport",
            dependencies: [
                "CaduceusCore",
                "CaduceusPKI",
                // The in-memory store and the in-process transport (fakes for the use-case services' unit tests).
                "CaduceusStorage", "CaduceusPatientIndex", "CaduceusDocuments", "CaduceusAudit", "CaduceusPolicy",
                "CaduceusExchange",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CaduceusCoreTests",
            dependencies: ["CaduceusCore"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CaduceusPKITests",
            dependencies: [
                "CaduceusPKI", "CaduceusCore", "CaduceusTestSupport",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CaduceusPKCS11Tests",
            dependencies: [
                "CaduceusPKCS11", "CaduceusPKI", "CaduceusCMS", "CaduceusCore", "CaduceusTestSupport",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CaduceusCMSTests",
            dependencies: [
                "CaduceusCMS", "CaduceusPKI", "CaduceusCore", "CaduceusTestSupport",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CaduceusHL7Tests",
            dependencies: ["CaduceusHL7", "CaduceusCore", "CaduceusTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CaduceusDICOMTests",
            dependencies: ["CaduceusDICOM", "CaduceusCore", "CaduceusTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CaduceusCDATests",
            dependencies: ["CaduceusCDA", "CaduceusCore", "CaduceusTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CaduceusDocumentsTests",
            dependencies: [
                "CaduceusDocuments", "CaduceusCore", "CaduceusTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CaduceusAuditTests",
            dependencies: [
                "CaduceusAudit", "CaduceusCore", "CaduceusStorage", "CaduceusStorageSQLite", "CaduceusTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
        // One storage conformance suite, run against every adapter (SQLite, in memory; PostgreSQL later).
        .testTarget(
            name: "CaduceusStorageTests",
            dependencies: [
                "CaduceusStorage", "CaduceusStorageSQLite", "CaduceusTestSupport", "CaduceusCore", "CaduceusAudit",
                "CaduceusDocuments", "CaduceusPolicy", "CaduceusPatientIndex",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CaduceusPolicyTests",
            dependencies: ["CaduceusPolicy"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CaduceusPatientIndexTests",
            dependencies: ["CaduceusPatientIndex", "CaduceusCore"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CaduceusExchangeTests",
            dependencies: [
                "CaduceusExchange", "CaduceusHL7", "CaduceusPatientIndex", "CaduceusStorage",
                "CaduceusStorageSQLite", "CaduceusCore", "CaduceusTestSupport", "CaduceusDocuments", "CaduceusPKI", "CaduceusAudit", "CaduceusPolicy",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CaduceusMLLPTests",
            dependencies: [
                "CaduceusMLLP", "CaduceusTLS", "CaduceusHL7", "CaduceusCore", "CaduceusTestSupport", "CaduceusPKI", "CaduceusAudit",
                "CaduceusStorage", "CaduceusStorageSQLite", "CaduceusExchange", "CaduceusPatientIndex",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CaduceusAppTests",
            dependencies: [
                "CaduceusApp", "CaduceusExchange", "CaduceusHTTP", "CaduceusDocuments", "CaduceusPKI", "CaduceusCore",
                "CaduceusCMS", "CaduceusStorage", "CaduceusTestSupport", "CaduceusPatientIndex", "CaduceusAudit", "CaduceusPolicy",
                "CaduceusSyslog", "CaduceusTLS", "CaduceusMLLP", "CaduceusHL7", "CaduceusFuzzing", "CaduceusPKCS11",
                "CaduceusPortal", "CaduceusCDA",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CaduceusFuzzTests",
            dependencies: ["CaduceusFuzzing"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CaduceusCLITests",
            dependencies: [
                "CaduceusCLI", "CaduceusTestSupport", "CaduceusCore", "CaduceusPKI", "CaduceusExchange", "CaduceusPKCS11", "CaduceusHTTP",
                "CaduceusCMS", "CaduceusHL7",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
