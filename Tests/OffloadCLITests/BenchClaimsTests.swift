import Testing

import OffloadBenchJobs
@testable import OffloadCLI

/// The verdicts as pure functions of a report: every branch, no interpreter and no timing needed — including a
/// free-threaded Python, which this machine does not have.
@Suite("bench claims")
struct BenchClaimsTests {
    static func lane(_ name: String, workers: Int = 1, median: Double, baseline: String, n: Int = 1_000)
        -> BenchReport.Lane
    {
        BenchReport.Lane(
            lane: name, workers: workers, medianSeconds: median, speedup: 0, efficiency: 0, runs: [median],
            nsPerItem: 0, checksum: "1", n: n, submitNsPerTask: nil, startupSeconds: nil, baseline: baseline,
            spread: 0, minSeconds: median, maxSeconds: median)
    }

    /// A report with the speed-ups filled in from the medians, as the runner does.
    static func report(_ lanes: [BenchReport.Lane], workload: String = "sum-of-squares", gil: Bool = true,
                       control: Double? = 1.9) -> BenchReport
    {
        let medians = Dictionary(lanes.map { ($0.lane, $0.medianSeconds) }, uniquingKeysWith: { first, _ in first })
        var report = BenchReport(
            workload: workload, cores: 2, summary: "", n: 1_000, pythonN: 1_000, repeat: 1, workers: [1, 2],
            versions: .init(swift: "6", offload: "0", build: "release", python: "3.13.0",
                            pythonExecutable: "python3", pythonGILEnabled: gil),
            lanes: lanes.map { lane in
                var lane = lane
                lane.speedup = (medians[lane.baseline ?? ""] ?? 0) / lane.medianSeconds
                return lane
            },
            notices: [], checksumsAgree: true)
        report.parallelControl = control.map {
            .init(workers: 2, sequentialSeconds: $0, threadPoolSeconds: 1, speedup: $0)
        }
        return report
    }

    static let pythonBaseline = lane("python-sequential", median: 1.0, baseline: "python-sequential")

    func claim(_ report: BenchReport, containing text: String) throws -> Claim {
        try #require(BenchClaims.evaluate(report).first { $0.claim.contains(text) })
    }

    @Test("with a GIL, threads that do not scale confirm the claim; threads that scale refute it")
    func gilThreads() throws {
        let flat = Self.report([Self.pythonBaseline, Self.lane("python-thread", workers: 2, median: 1.0,
                                                               baseline: "python-sequential")])
        #expect(try claim(flat, containing: "Threads do not speed up").holds == true)
        let scaled = Self.report([Self.pythonBaseline, Self.lane("python-thread", workers: 2, median: 0.5,
                                                                 baseline: "python-sequential")])
        #expect(try claim(scaled, containing: "Threads do not speed up").holds == false)
    }

    @Test("on a free-threaded build the thread claim turns around and is judged from the speed-up")
    func freeThreadedThreads() throws {
        let scaled = Self.report([Self.pythonBaseline, Self.lane("python-thread", workers: 2, median: 0.55,
                                                                 baseline: "python-sequential")], gil: false)
        let parallel = try claim(scaled, containing: "free-threaded build")
        #expect(parallel.holds == true)
        #expect(parallel.measured.contains("without a GIL"))
        let flat = Self.report([Self.pythonBaseline, Self.lane("python-thread", workers: 2, median: 1.0,
                                                               baseline: "python-sequential")], gil: false)
        #expect(try claim(flat, containing: "free-threaded build").holds == false)
    }

    @Test("claims about cores are undecided when the run's own Swift control did not scale")
    func busyCoresAreUndecided() throws {
        let report = Self.report(
            [Self.pythonBaseline, Self.lane("python-process", workers: 2, median: 1.0, baseline: "python-sequential")],
            control: 1.02)
        let verdict = try claim(report, containing: "ProcessPoolExecutor")
        #expect(verdict.holds == nil)
        #expect(verdict.verdict.contains("busy"))
    }

    @Test("asyncio: the same time as the plain loop holds the claim, whatever the cores did")
    func asyncio() throws {
        let report = Self.report(
            [Self.pythonBaseline, Self.lane("python-asyncio", median: 1.02, baseline: "python-sequential")],
            control: 1.0)
        #expect(try claim(report, containing: "asyncio does not help").holds == true)
    }

    @Test("NumPy threads: judged by the ratio of the two NumPy lanes")
    func numpyThreads() throws {
        let lanes = [
            Self.lane("sequential", median: 1.0, baseline: "sequential"),
            Self.lane("python-numpy", median: 0.4, baseline: "sequential"),
            Self.lane("python-numpy-thread", workers: 2, median: 0.21, baseline: "sequential"),
        ]
        #expect(try claim(Self.report(lanes, workload: "numpy-sum-of-squares"), containing: "NumPy releases").holds
                == true)
    }

    @Test("vector width times cores: both multipliers must count for the claim to hold")
    func vectorTimesCores() throws {
        let both = [
            Self.lane("sequential", median: 1.0, baseline: "sequential"),
            Self.lane("simd", median: 0.25, baseline: "sequential"),
            Self.lane("simd-threadpool", workers: 2, median: 0.13, baseline: "sequential"),
        ]
        #expect(try claim(Self.report(both, workload: "numpy-sum-of-squares"), containing: "vectorisation").holds
                == true)
        var widthOnly = both
        widthOnly[2] = Self.lane("simd-threadpool", workers: 2, median: 0.24, baseline: "sequential")
        let partly = try claim(Self.report(widthOnly, workload: "numpy-sum-of-squares"), containing: "vectorisation")
        #expect(partly.holds == false)
        #expect(partly.verdict.hasPrefix("partly"))
    }
}

@Suite("bench workloads")
struct BenchWorkloadListTests {
    @Test("every workload runs with its lanes compiled for it (a SpecialisedBench conformance)")
    func everyWorkloadIsSpecialised() {
        for workload in BenchWorkloads.all {
            #expect(workload is any SpecialisedBench.Type, "\(workload.name) has no SpecialisedBench conformance")
        }
    }

    @Test("workload names are unique and every workload lists sequential first")
    func namesAndBaselines() {
        #expect(Set(BenchWorkloads.all.map { $0.name }).count == BenchWorkloads.all.count)
        for workload in BenchWorkloads.all {
            #expect(workload.lanes.first == .sequential, "\(workload.name)")
        }
    }
}
