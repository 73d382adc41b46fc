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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
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
            name: "CaduceusCLI",
            dependencies: [
                "CaduceusCore",
                "CaduceusPKI",
                "CaduceusCMS",
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
        .target(
            name: "CaduceusTestSupport",
            dependencies: [
                "CaduceusCore",
                "CaduceusPKI",
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
            name: "CaduceusCLITests",
            dependencies: [
                "CaduceusCLI", "CaduceusTestSupport", "CaduceusCore", "CaduceusPKI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
