import Testing

@testable import Offload

/// The adaptive spin of the shared-memory transport's readers, as pure rules.
@Suite struct SpinBudgetTests {
    @Test("a budget starts at its maximum, and a maximum of zero never spins whatever arrives")
    func zeroMaximumNeverSpins() {
        #expect(SpinBudget(maximum: 50_000).current == 50_000)
        var budget = SpinBudget(maximum: 0)
        budget.arrivedWhileSpinning(after: 10)
        budget.arrivedAfterSleeping(1_000)
        #expect(budget.current == 0)
    }

    @Test("an idle reader's budget halves on every long sleep and drops to nothing")
    func idleDropsToNothing() {
        var budget = SpinBudget(maximum: 50_000)
        var seen: [UInt64] = []
        for _ in 0..<6 {
            budget.arrivedAfterSleeping(100_000_000)
            seen.append(budget.current)
        }
        #expect(seen == [25_000, 12_500, 6_250, 3_125, 0, 0])
    }

    @Test("arrivals just after the spin ran out grow the budget back, up to the maximum")
    func shortSleepsGrowIt() {
        var budget = SpinBudget(maximum: 50_000)
        for _ in 0..<5 { budget.arrivedAfterSleeping(100_000_000) }
        #expect(budget.current == 0)
        budget.arrivedAfterSleeping(10_000)
        #expect(budget.current == SpinBudget.minimumStep)
        for _ in 0..<10 { budget.arrivedAfterSleeping(10_000) }
        #expect(budget.current == 50_000)
    }

    @Test("gaps a little longer than a spin still grow a dropped budget back, so two sleeping ends recover")
    func gapsJustPastTheMaximumGrowIt() {
        var budget = SpinBudget(maximum: 50_000)
        for _ in 0..<5 { budget.arrivedAfterSleeping(100_000_000) }
        #expect(budget.current == 0)
        // A one-job round trip whose both ends sleep: every gap includes the other end's wake-up.
        var seen: [UInt64] = []
        for _ in 0..<6 {
            budget.arrivedAfterSleeping(90_000)
            seen.append(budget.current)
        }
        #expect(seen == [2_000, 4_000, 8_000, 16_000, 32_000, 50_000])
        budget.arrivedAfterSleeping(50_000 * SpinBudget.reachFactor + 1)
        #expect(budget.current == 25_000)
    }

    @Test("an arrival while spinning keeps the budget at least twice the wait it took")
    func arrivalsWhileSpinningKeepIt() {
        var budget = SpinBudget(maximum: 50_000)
        budget.arrivedAfterSleeping(100_000_000)
        budget.arrivedAfterSleeping(100_000_000)
        #expect(budget.current == 12_500)
        budget.arrivedWhileSpinning(after: 10_000)
        #expect(budget.current == 20_000)
        budget.arrivedWhileSpinning(after: 1_000)
        #expect(budget.current == 20_000)
        budget.arrivedWhileSpinning(after: 40_000)
        #expect(budget.current == 50_000)
    }

    @Test("a spin returns as soon as its condition holds, and gives up once the budget has passed")
    func spinWaitEndsOnArrivalOrBudget() {
        var checks = 0
        let waited = SpinWait.until(budget: 10_000_000_000) {
            checks += 1
            return checks == 100
        }
        #expect(waited != nil)
        #expect(checks == 100)
        var never = 0
        #expect(SpinWait.until(budget: 20_000) { never += 1; return false } == nil)
        #expect(never >= 32)
    }

    @Test("workers that outnumber the cores never spin; the manager spins only with a core to spare")
    func policyFollowsThePoolShape() {
        #expect(SpinPolicy(workers: 1, cores: 2) == SpinPolicy(worker: SpinPolicy.ceiling, manager: SpinPolicy.ceiling))
        #expect(SpinPolicy(workers: 2, cores: 2) == SpinPolicy(worker: SpinPolicy.ceiling, manager: 0))
        #expect(SpinPolicy(workers: 4, cores: 2) == SpinPolicy(worker: 0, manager: 0))
    }
}
