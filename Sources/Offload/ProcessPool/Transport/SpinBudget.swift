/// How long a reader of a shared-memory ring busy-waits before it sleeps: adapted to the arrival rate, as
/// Tachyon's and iceoryx2's waiters do. Pure (times are arguments), so every rule is tested without threads.
///
/// - Data that arrives while spinning keeps the budget (and grows it to twice the wait it took, up to the maximum):
///   arrivals are frequent, spinning pays.
/// - Data that arrives soon after the reader went to sleep (within the maximum) doubles the budget: a slightly
///   longer spin would have saved a wake-up.
/// - A long sleep (the next arrival came much later than any spin could bridge, or the watchdog fired) halves it;
///   below ``minimumStep`` it drops to nothing, so an idle pool costs no CPU.
/// - A maximum of zero (more spinning threads than cores) disables spinning for good.
struct SpinBudget: Sendable, Equatable {
    /// The longest spin, nanoseconds; zero disables spinning.
    let maximum: UInt64
    /// The current budget, nanoseconds.
    private(set) var current: UInt64

    /// Budgets below this are treated as zero, and a budget that grows from zero starts here.
    static let minimumStep: UInt64 = 2_000

    init(maximum: UInt64) {
        self.maximum = maximum
        self.current = maximum
    }

    /// Data arrived `waited` nanoseconds into a spin.
    mutating func arrivedWhileSpinning(after waited: UInt64) {
        current = min(maximum, max(current, waited.multipliedReportingOverflow(by: 2).partialValue))
    }

    /// The spin ran out; the reader slept and data (or the watchdog) came `slept` nanoseconds later.
    mutating func arrivedAfterSleeping(_ slept: UInt64) {
        guard maximum > 0 else { return }
        if slept <= maximum {
            current = min(maximum, max(SpinBudget.minimumStep, current * 2))
        } else {
            current /= 2
            if current < SpinBudget.minimumStep { current = 0 }
        }
    }
}
