import Testing

@testable import OffloadCLI

@Suite("The harness's shuffled rounds and its statistics")
struct HarnessScheduleTests {
    @Test("the same seed gives the same order round by round, and every round is a permutation of the lanes")
    func seededOrderRepeats() {
        var first = RoundOrder(seed: 42)
        var second = RoundOrder(seed: 42)
        let orders = (0..<8).map { _ in first.next(count: 9) }
        #expect(orders == (0..<8).map { _ in second.next(count: 9) })
        for order in orders { #expect(order.sorted() == Array(0..<9)) }
        // Shuffled per round: eight rounds of nine lanes are not all in one order.
        #expect(Set(orders).count > 1)
        var other = RoundOrder(seed: 43)
        #expect((0..<8).map { _ in other.next(count: 9) } != orders)
    }

    @Test("SplitMix64 gives the published sequence for seed 0, so a seed means the same schedule on any toolchain")
    func splitMixIsFixed() {
        var generator = SplitMix64(state: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test("every lane runs once per round in the round's shuffled order, and the orders can be read back")
    func harnessFollowsTheOrder() async throws {
        let log = RunLog()
        let lanes = (0..<5).map { index in
            PreparedLane(name: "lane\(index)", workers: 1, session: RecordingLane(index: index, log: log))
        }
        let measured = try await Harness.run(lanes, repetitions: 4, warmUp: 1, seed: 7)
        var expected = RoundOrder(seed: 7)
        let warmUp = expected.next(count: 5)
        let rounds = (0..<4).map { _ in expected.next(count: 5) }
        #expect(await log.order == warmUp + rounds.flatMap { $0 })
        #expect(Harness.orders(measured) == rounds)
        #expect(measured.allSatisfy { $0.rounds == [0, 1, 2, 3] && $0.runs.count == 4 })
    }

    @Test("noise is 1.4826 × MAD / median: one outlying run moves the spread, not the noise")
    func noiseIsRobust() {
        let steady = [1.0, 1.02, 0.98, 1.01, 0.99]
        let withOutlier = [1.0, 1.02, 0.98, 1.01, 3.0]
        #expect(abs(Statistics.noise(steady) - 1.4826 * 0.01) < 1e-12)
        // Median 1.01; deviations 0.01, 0.01, 0.03, 0, 1.99: the MAD is 0.01 however far the outlier lies.
        #expect(abs(Statistics.noise(withOutlier) - 1.4826 * 0.01 / 1.01) < 1e-12)
        #expect(Statistics.spread(withOutlier) > 1.9)
        #expect(Statistics.noise([1.0]) == 0)
    }

    @Test("percentiles use the nearest rank: p50 and p99 of 1...100 are 50 and 99")
    func percentiles() {
        let values = (1...100).map(Double.init).shuffled()
        #expect(Statistics.percentile(values, 0.50) == 50)
        #expect(Statistics.percentile(values, 0.99) == 99)
        #expect(Statistics.percentile([7], 0.99) == 7)
    }

    @Test("paired ratios divide runs of the same round, and leave out rounds a lane missed")
    func pairedRatios() {
        let baseline = measurement(runs: [2, 4, 6], rounds: [0, 1, 2])
        let lane = measurement(runs: [1, 3], rounds: [0, 2])
        #expect(Statistics.pairedRatios(baseline, over: lane) == [2, 2])
    }

    @Test("a baseline noisier than 10% gets a one-line warning naming it; a steady one gets none")
    func noiseWarning() throws {
        let noisy = measurement(runs: [1.0, 1.3, 0.8, 1.25, 0.75], rounds: [0, 1, 2, 3, 4])
        let line = try #require(NoiseWarning.line(baseline: noisy))
        #expect(line.contains("sequential"))
        #expect(!line.contains("\n"))
        #expect(NoiseWarning.line(baseline: measurement(runs: [1.0, 1.01, 0.99], rounds: [0, 1, 2])) == nil)
    }

    @Test("the chart's palette has a distinct colour for every lane, however many lanes there are",
          arguments: [3, 10, 11, 14, 19, 40])
    func paletteIsDistinct(count: Int) {
        let palette = SpeedupChart.palette(count: count)
        #expect(palette.count == count)
        #expect(Set(palette).count == count)
        #expect(palette.allSatisfy { $0.count == 7 && $0.hasPrefix("#") })
    }

    private func measurement(runs: [Double], rounds: [Int]) -> LaneMeasurement {
        LaneMeasurement(name: "sequential", workers: 1, runs: runs, rounds: rounds,
                        positions: rounds.map { _ in 0 }, samples: [], checksum: "", results: nil,
                        checksumsStable: true, submitRuns: [], startupSeconds: nil)
    }
}

/// The order in which lanes ran.
private actor RunLog {
    var order: [Int] = []

    func record(_ index: Int) {
        order.append(index)
    }
}

/// A lane that records when it runs.
private struct RecordingLane: LaneSession {
    let index: Int
    let log: RunLog

    func run() async throws -> LaneRun {
        await log.record(index)
        return LaneRun(checksum: "", seconds: 1)
    }
}
