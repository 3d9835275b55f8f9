// swift-tools-version: 6.2
// Exit tests (`#expect(processExitsWith:)`) need a 6.2 or later toolchain.
import PackageDescription

/// Settings every Swift target shares: Swift 6 language mode (complete data-race checking) plus the upcoming
/// features that make dependencies and existentials explicit.
let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Offload",
    // Linux only: worker processes rest on pidfd, pipe2, eventfd, prctl(PR_SET_PDEATHSIG) and memfd, which have no
    // portable equivalent here; no other platform is declared or tested.
    products: [
        .library(name: "Offload", targets: ["Offload"]),
        .executable(name: "offload", targets: ["OffloadCLI"]),
        .executable(name: "offload-worker", targets: ["OffloadWorker"]),
        // The same jobs on PostgreSQL: a separate product, so that users of `Offload` alone never build postgres-nio.
        .library(name: "OffloadPostgres", targets: ["OffloadPostgres"]),
        .executable(name: "offload-postgres", targets: ["OffloadPostgresCLI"]),
        // A PostgresWorker's counts as swift-metrics: its own product, so that neither OffloadPostgres nor
        // OffloadMetrics links the other's dependency.
        .library(name: "OffloadPostgresMetrics", targets: ["OffloadPostgresMetrics"]),
        // Opt-in observability: each product brings one ecosystem API, so that `Offload` itself depends on none.
        .library(name: "OffloadMetrics", targets: ["OffloadMetrics"]),
        .library(name: "OffloadLogging", targets: ["OffloadLogging"]),
        .library(name: "OffloadTracing", targets: ["OffloadTracing"]),
    ],
    dependencies: [
        // The CLI's commands, options and help text.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // `Deque`: the FIFO run queues of every pool.
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        // The PostgreSQL client of `OffloadPostgres` (only that target and its CLI link it).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // The ecosystem's metrics API, for `OffloadMetrics` only (and MetricsTestKit for its tests).
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // The ecosystem's logging API, for `OffloadLogging` only (postgres-nio already depends on it).
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // Only the metrics example: a Prometheus registry and a small HTTP server for `/metrics` (swift-nio is
        // already built for postgres-nio).
        // The ecosystem's tracing API, for `OffloadTracing` only (and its in-memory tracer for the tests).
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // Linux calls that `import Glibc` does not expose (pipe2, pidfd_open, prctl, ...), wrapped in C.
        .target(name: "COffloadShims"),
        // The floor: the one system-call layer (pipes, poll, eventfd, pidfd, spawn, shared memory, threads, thread
        // locals). Names no pool.
        .target(name: "OffloadSystem", dependencies: ["COffloadShims"], swiftSettings: strictSettings),
        // Transport-neutral jobs: Job, JobRegistry, JobCodec and its binary format, OffloadError, task handles and
        // accounting, the executor protocol. No system calls, no processes, no pipes: every executor (thread pools,
        // process pools, PostgreSQL) builds on it, and it knows none of them.
        .target(
            name: "OffloadCore",
            dependencies: [
                // ThreadSanitizer annotations for Mutex only (see Mutex+Sanitizer.swift); no system calls.
                "COffloadShims",
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: strictSettings + [.enableUpcomingFeature("NonisolatedNonsendingByDefault")]
        ),
        // Framing: frames, the incremental reader, the coalescing writer (into a buffer), messages. No I/O.
        .target(name: "OffloadWire", dependencies: ["OffloadCore"], swiftSettings: strictSettings),
        // The engines and pools: ThreadPool, IsolatedPool, ProcessPool, WorkerPool, parallelMap, shared memory.
        // Re-exports OffloadCore, so `import Offload` is all a user writes.
        .target(
            name: "Offload",
            dependencies: [
                "COffloadShims",
                "OffloadCore",
                "OffloadSystem",
                "OffloadWire",
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            // Async APIs run on the caller's executor: awaiting a finished handle from the main actor must not hop to
            // the global executor and back (measured: ~20 µs per await without this).
            swiftSettings: strictSettings + [.enableUpcomingFeature("NonisolatedNonsendingByDefault")]
        ),
        // The lab's workloads as jobs: served by `offload` (relaunched as a worker) and by `offload-worker`.
        .target(
            name: "OffloadBenchJobs",
            dependencies: ["Offload"],
            swiftSettings: strictSettings
        ),
        // A lean worker executable (no Foundation) for the bench jobs: a dedicated-executable ProcessPool, which starts
        // several milliseconds faster than relaunching `offload`.
        .executableTarget(
            name: "OffloadWorker",
            dependencies: ["Offload", "OffloadBenchJobs"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "OffloadCLI",
            dependencies: [
                "Offload",
                // CPU pinning for the raw pipe baseline of `offload bench-processes`.
                "OffloadSystem",
                "OffloadBenchJobs",
                "OffloadWorker",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // Job types shared by the worker fixture and the tests (both sides must know the same types).
        .target(
            name: "OffloadTestJobs",
            dependencies: [
                "Offload",
                // A job that reports the trace context it runs in (the cross-process tracing test).
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "Tests/OffloadTestJobs",
            swiftSettings: strictSettings
        ),
        // The README's quick start, compiled with everything else so that it keeps compiling.
        .executableTarget(
            name: "QuickStart",
            dependencies: ["Offload"],
            path: "Examples/QuickStart",
            swiftSettings: strictSettings
        ),
        // A worker executable with jobs that echo, throw, crash, hang and allocate: the process pool's test fixture.
        .executableTarget(
            name: "OffloadTestWorker",
            dependencies: [
                "Offload", "OffloadTestJobs", "OffloadTracing",
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            path: "Tests/OffloadTestWorker",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "OffloadTests",
            dependencies: ["Offload", "OffloadCore", "OffloadSystem", "OffloadWire", "OffloadTestJobs", "OffloadTestWorker"],
            swiftSettings: strictSettings
        ),
        // The PostgreSQL executor: submitter, worker, migrations and status, on top of the jobs layer.
        .target(
            name: "OffloadPostgres",
            dependencies: [
                "OffloadCore",
                "Offload",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // PostgresObserver → swift-metrics counters and gauges (opt-in product).
        .target(
            name: "OffloadPostgresMetrics",
            dependencies: ["OffloadPostgres", .product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: strictSettings
        ),
        // A throwaway PostgreSQL cluster (initdb + pg_ctl in a temporary directory) for the tests and the bench.
        .target(name: "OffloadPostgresScratch", swiftSettings: strictSettings),
        // `offload-postgres worker|status|migrate|bench`: kept out of `offload` so its build never compiles postgres-nio.
        .executableTarget(
            name: "OffloadPostgresCLI",
            dependencies: [
                "OffloadPostgres",
                "OffloadPostgresScratch",
                "OffloadBenchJobs",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // A PostgresWorker executable serving the test jobs: the tests run it as separate OS processes (SIGKILL,
        // SIGSTOP, TCP), and in-process workers use it for their local process pool.
        .executableTarget(
            name: "OffloadPostgresTestWorker",
            dependencies: [
                "OffloadPostgres", "OffloadPostgresMetrics", "OffloadTestJobs", "OffloadTracing",
                // Its watchdog-test modes start a scratch cluster or a held worker, and are then SIGKILLed.
                "OffloadPostgresScratch",
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            path: "Tests/OffloadPostgresTestWorker",
            swiftSettings: strictSettings
        ),
        // Against a throwaway PostgreSQL cluster the tests start themselves (skipped when no server is installed).
        .testTarget(
            name: "OffloadPostgresTests",
            dependencies: [
                "OffloadPostgres", "OffloadPostgresScratch", "OffloadTestJobs", "OffloadPostgresTestWorker",
                "OffloadPostgresMetrics", "OffloadTracing",
                // pidfd_open: the watchdog tests wait for processes that are not their children.
                "OffloadSystem",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        // End-to-end tests of the `offload` CLI: they run the built binary found next to the test bundle.
        .testTarget(name: "OffloadCLITests", dependencies: ["OffloadCLI"], swiftSettings: strictSettings),
        // Pools' counters and life cycle as swift-metrics counters, gauges and timers (opt-in product).
        .target(
            name: "OffloadMetrics",
            dependencies: ["OffloadCore", .product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: strictSettings
        ),
        // Pools' life cycle as swift-log messages with structured metadata (opt-in product).
        .target(
            name: "OffloadLogging",
            dependencies: ["OffloadCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        // Every task as swift-distributed-tracing spans, across the process boundary (opt-in product).
        .target(
            name: "OffloadTracing",
            dependencies: ["OffloadCore", .product(name: "Tracing", package: "swift-distributed-tracing")],
            swiftSettings: strictSettings
        ),
        // Serves a pool's metrics at /metrics in the Prometheus text format, compiled with everything else.
        .executableTarget(
            name: "MetricsServer",
            dependencies: [
                "Offload",
                "OffloadMetrics",
                "OffloadLogging",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Examples/MetricsServer",
            swiftSettings: strictSettings
        ),
        // The cost of watching: the same work with and without metrics and a progress consumer (release-build timing).
        .executableTarget(
            name: "ObservabilityCost",
            dependencies: [
                "Offload",
                "OffloadMetrics",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Examples/ObservabilityCost",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "OffloadObservabilityTests",
            dependencies: [
                "Offload", "OffloadCore", "OffloadMetrics", "OffloadLogging", "OffloadTracing", "OffloadTestJobs",
                "OffloadTestWorker",
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
