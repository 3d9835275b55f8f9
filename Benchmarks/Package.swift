// swift-tools-version: 6.2
// Benchmarks of the Offload package, kept out of its dependency graph (swift-nio's Benchmarks/ model).
// Run: cd Benchmarks && swift run -c release ProcessPoolSemantics
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder (a checkout in `Offload/`, a worktree in `wt-proc/`), so the
// identity is computed rather than written down.
let offloadIdentity = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

let package = Package(
    name: "OffloadBenchmarks",
    dependencies: [.package(path: "../")],
    targets: [
        // Crash cost, cancel-to-return in stop mode, per-item outcome map vs all-or-nothing map: lanes interleaved,
        // medians and spread. The executable is also its own worker.
        .executableTarget(
            name: "ProcessPoolSemantics",
            dependencies: [.product(name: "Offload", package: offloadIdentity)],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
