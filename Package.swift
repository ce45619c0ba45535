// swift-tools-version:6.1
import PackageDescription

/// Layering (dependencies point down this list only):
///   ProcmgrSupport  — a TSan-visible lock shared by every layer
///   ProcmgrMetrics  — registry + exposition, no I/O
///   ProcmgrEngine   — pod-worker lifecycle engine; clock + registry + logger only
///   ProcmgrRuntime  — OS process primitives (spawn, exit watching, group stop, orphan guard,
///                     ports, output capture, heartbeats) on a C shim (CProcmgrShims)
///   ProcmgrConfig   — the agent's declarative config: model, parsing, validation, merging
///   ProcmgrEtcd     — an etcd v3 client over etcd's JSON gateway (AsyncHTTPClient): ranges,
///                     transactions, leases, streamed watches; endpoint failover, auth, TLS
///   ProcmgrHTTP     — the agent's HTTP API (Hummingbird): /metrics with gzip, status, actions
///   ProcmgrAgent    — the agent: config sources, reconciler, the API backend, lifecycle wiring
///   procmgr         — CLI
let strictSwiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "procmgr",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ProcmgrSupport", targets: ["ProcmgrSupport"]),
        .library(name: "ProcmgrMetrics", targets: ["ProcmgrMetrics"]),
        .library(name: "ProcmgrEngine", targets: ["ProcmgrEngine"]),
        .library(name: "ProcmgrTestKit", targets: ["ProcmgrTestKit"]),
        .library(name: "ProcmgrConfig", targets: ["ProcmgrConfig"]),
        .library(name: "ProcmgrRuntime", targets: ["ProcmgrRuntime"]),
        .library(name: "ProcmgrEtcd", targets: ["ProcmgrEtcd"]),
        .library(name: "ProcmgrHTTP", targets: ["ProcmgrHTTP"]),
        .library(name: "ProcmgrAgent", targets: ["ProcmgrAgent"]),
        .executable(name: "procmgr", targets: ["procmgr"]),
        .executable(name: "procmgr-bench", targets: ["ProcmgrBenchmarks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // Already resolved through AsyncHTTPClient: the etcd client's TLS files (client certificates).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        .target(
            name: "ProcmgrSupport",
            swiftSettings: strictSwiftSettings
        ),
        .target(
            name: "ProcmgrMetrics",
            dependencies: [
                "ProcmgrSupport",
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSwiftSettings
        ),
        .target(
            name: "ProcmgrEngine",
            dependencies: [
                "ProcmgrSupport",
                "ProcmgrMetrics",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwiftSettings
        ),
        .target(
            name: "ProcmgrTestKit",
            dependencies: ["ProcmgrEngine", "ProcmgrSupport"],
            swiftSettings: strictSwiftSettings
        ),
        .target(
            name: "CProcmgrShims",
            cSettings: [.define("_GNU_SOURCE")]
        ),
        .target(
            name: "ProcmgrRuntime",
            dependencies: [
                "CProcmgrShims",
                "ProcmgrSupport",
                "ProcmgrMetrics",
                "ProcmgrEngine",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strictSwiftSettings
        ),
        .executableTarget(
            name: "runtime-testhost",
            dependencies: ["ProcmgrRuntime", "ProcmgrSupport"],
            swiftSettings: strictSwiftSettings
        ),
        .target(
            name: "ProcmgrConfig",
            dependencies: ["ProcmgrSupport", .product(name: "Yams", package: "Yams")],
            swiftSettings: strictSwiftSettings
        ),
        .target(
            name: "ProcmgrEtcd",
            dependencies: [
                "ProcmgrSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSwiftSettings
        ),
        .target(
            name: "ProcmgrHTTP",
            dependencies: [
                "ProcmgrMetrics",
                "ProcmgrSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // Already resolved through Hummingbird: an SSE stream ends at graceful shutdown.
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // Served from the binary (no files beside it, no Foundation bundle): the OpenAPI
            // document, the single source of truth of the API, and the web status page.
            resources: [
                .embedInCode("Resources/openapi.json"),
                .embedInCode("Resources/status.html"),
            ],
            swiftSettings: strictSwiftSettings
        ),
        .target(
            name: "ProcmgrAgent",
            dependencies: [
                "ProcmgrSupport",
                "ProcmgrEtcd",
                "ProcmgrMetrics",
                "ProcmgrEngine",
                "ProcmgrRuntime",
                "ProcmgrConfig",
                "ProcmgrHTTP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strictSwiftSettings
        ),
        .executableTarget(
            name: "http-bench",
            dependencies: [
                "ProcmgrHTTP",
                "ProcmgrMetrics",
                // Only for the metric label enums the synthetic agent's series use.
                "ProcmgrEngine",
                "ProcmgrRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwiftSettings
        ),
        .executableTarget(
            name: "procmgr",
            dependencies: [
                "ProcmgrAgent",
                "ProcmgrEtcd",
                "ProcmgrRuntime",
                "ProcmgrHTTP",
                "ProcmgrConfig",
                "ProcmgrEngine",
                "ProcmgrMetrics",
                "ProcmgrSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: strictSwiftSettings
        ),
        .executableTarget(
            name: "ProcmgrBenchmarks",
            dependencies: [
                "ProcmgrAgent",
                "ProcmgrEtcd",
                "ProcmgrEngine",
                "ProcmgrHTTP",
                "ProcmgrMetrics",
                "ProcmgrRuntime",
                "ProcmgrSupport",
                "ProcmgrTestKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwiftSettings
        ),
        .testTarget(
            name: "ProcmgrMetricsTests",
            dependencies: [
                "ProcmgrMetrics",
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSwiftSettings
        ),
        .testTarget(
            name: "ProcmgrRuntimeTests",
            // The executable dependency only makes sure runtime-testhost is built before the
            // tests, which start it as a child process.
            dependencies: ["ProcmgrRuntime", "runtime-testhost", "ProcmgrTestKit", "ProcmgrEngine", "ProcmgrMetrics", "ProcmgrSupport"],
            swiftSettings: strictSwiftSettings
        ),
        .testTarget(
            name: "ProcmgrHTTPTests",
            dependencies: [
                "ProcmgrHTTP",
                "ProcmgrTestKit",
                "ProcmgrMetrics",
                "ProcmgrSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwiftSettings
        ),
        .testTarget(
            name: "ProcmgrAgentTests",
            // procmgr is built first because the tests start `procmgr run` as a child process.
            dependencies: [
                "ProcmgrAgent",
                "ProcmgrEtcd",
                "ProcmgrTestKit",
                "procmgr",
                "ProcmgrConfig",
                "ProcmgrEngine",
                "ProcmgrMetrics",
                "ProcmgrRuntime",
                "ProcmgrHTTP",
                "ProcmgrSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSwiftSettings
        ),
        .testTarget(
            name: "ProcmgrObservabilityTests",
            // procmgr is built first because the end-to-end test runs `procmgr run` under a real
            // Prometheus and Alertmanager; the registrars are linked to render the real exposition.
            dependencies: [
                "procmgr",
                "ProcmgrAgent",
                "ProcmgrEngine",
                "ProcmgrHTTP",
                "ProcmgrMetrics",
                "ProcmgrRuntime",
                "ProcmgrTestKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwiftSettings
        ),
        .testTarget(
            name: "ProcmgrConfigTests",
            dependencies: ["ProcmgrConfig"],
            swiftSettings: strictSwiftSettings
        ),
        .testTarget(
            // Reads the source tree only (the crash-proofing rule); depends on nothing.
            name: "ProcmgrLintTests",
            swiftSettings: strictSwiftSettings
        ),
        .testTarget(
            name: "ProcmgrEngineTests",
            dependencies: ["ProcmgrEngine", "ProcmgrMetrics", "ProcmgrTestKit", "ProcmgrSupport"],
            swiftSettings: strictSwiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
