// swift-tools-version:6.1
import PackageDescription

/// libFuzzer harnesses for procmgr's input parsers (issue 10, item 9).
///
/// A separate package on purpose: the fuzz targets are built with `-Xswiftc
/// -sanitize=fuzzer,address` (see README.md for why not `--sanitize`), which instruments every
/// module including the dependencies, so they
/// live outside the main package and `swift build` / `swift test` at the repository root
/// neither build nor see them. Run them through `scripts/fuzz.sh` (see Fuzz/README.md).
///
/// Each harness is an executable target whose `main.swift` hands its test function to libFuzzer
/// (`runFuzzer`, i.e. `LLVMFuzzerRunDriver`): SwiftPM always emits a Swift `main`, so
/// libFuzzer's own `main` is never linked.
let fuzzSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

func harness(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(
        name: name,
        dependencies: dependencies + ["FuzzSupport"],
        path: "Sources/\(name)",
        swiftSettings: fuzzSettings,
        // gold (the default linker here) stops with "internal error in format_file_lineno"
        // on the instrumented objects; lld links them.
        linkerSettings: [.unsafeFlags(["-use-ld=lld"])]
    )
}

let package = Package(
    name: "procmgr-fuzz",
    dependencies: [
        .package(name: "procmgr", path: ".."),
    ],
    targets: [
        .target(name: "CFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzerDriver"], swiftSettings: fuzzSettings),
        harness("fuzz-config-yaml", [.product(name: "ProcmgrConfig", package: "procmgr")]),
        harness("fuzz-config-json", [.product(name: "ProcmgrConfig", package: "procmgr")]),
        harness("fuzz-values", [.product(name: "ProcmgrConfig", package: "procmgr")]),
        harness("fuzz-accept-encoding", [.product(name: "ProcmgrHTTP", package: "procmgr")]),
        harness("fuzz-bearer-token", [.product(name: "ProcmgrHTTP", package: "procmgr")]),
        harness("fuzz-exposition", [.product(name: "ProcmgrMetrics", package: "procmgr")]),
        harness("fuzz-state-file", [.product(name: "ProcmgrRuntime", package: "procmgr")]),
        harness("fuzz-etcd-watch", [.product(name: "ProcmgrEtcd", package: "procmgr")]),
    ],
    swiftLanguageModes: [.v6]
)
