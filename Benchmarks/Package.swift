// swift-tools-version: 6.2
// Benchmarks of the Offload package, kept out of its dependency graph (swift-nio's Benchmarks/ model).
//   Microbenchmarks (package-benchmark): cd Benchmarks && swift package benchmark
//   Process-pool semantics (crash cost, cancellation): cd Benchmarks && swift run -c release ProcessPoolSemantics
//   Streaming cost and memory: cd Benchmarks && swift run -c release ProcessPoolStreaming
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder (a checkout in `Offload/`, a worktree in `wt-proc/`), so the
// identity is computed rather than written down.
let offloadIdentity = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

let package = Package(
    name: "OffloadBenchmarks",
    dependencies: [
        .package(path: "../"),
        // Only the malloc counters' trait: the Swift 6.3 ARC runtime interposer (the other default trait) is not
        // needed for wall-clock, instruction and allocation figures.
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Codec (per trivial item in a batch, per small message), submit, and a warm ProcessPool round trip. The
        // executable is also its own worker.
        .executableTarget(
            name: "OffloadBenchmarks",
            dependencies: [
                .product(name: "Offload", package: offloadIdentity),
                .product(name: "Benchmark", package: "package-benchmark"),
            ],
            path: "Benchmarks/OffloadBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        // Crash cost, cancel-to-return in stop mode, per-item outcome map vs all-or-nothing map: lanes interleaved,
        // medians and spread. The executable is also its own worker.
        .executableTarget(
            name: "ProcessPoolSemantics",
            dependencies: [.product(name: "Offload", package: offloadIdentity)],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // ProcessPool.mapUnordered over a lazy sequence of 10,000,000 trivial jobs: ns per item and peak RSS.
        .executableTarget(
            name: "ProcessPoolStreaming",
            dependencies: [.product(name: "Offload", package: offloadIdentity)],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // JobCodec per message, in the units of Python/pickle_codec.py (run the two in turns to compare).
        .executableTarget(
            name: "CodecFigures",
            dependencies: [.product(name: "Offload", package: offloadIdentity)],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
