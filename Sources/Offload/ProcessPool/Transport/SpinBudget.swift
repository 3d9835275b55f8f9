/// How long a reader of a shared-memory ring busy-waits before it sleeps: adapted to the arrival rate, as
/// Tachyon's and iceoryx2's waiters do. Pure (times are arguments), so every rule is tested without threads.
///
/// - Data that arrives while spinning keeps the budget (and grows it to twice the wait it took, up to the maximum):
///   arrivals are frequent, spinning pays.
/// - Data that arrives soon after the reader went to sleep (within ``reachFactor`` times the maximum) doubles the
///   budget: a longer spin would have saved a wake-up, or would shorten the gap itself (see below).
/// - A long sleep (the next arrival came much later than any spin could bridge, or the watchdog fired) halves it;
///   below ``minimumStep`` it drops to nothing, so an idle pool costs no CPU.
///
/// Why "soon" reaches past the maximum: the two ends of a round trip feed each other. When both sleep, every gap a
/// reader sees includes the other end's wake-up and the awaiting caller's, so the gaps grow longer than any spin
/// (80–100 µs for a one-job round trip on a 2-core virtual machine, against 15–30 µs while both spin). Halving on
/// those gaps kept both ends asleep for good once a few slow wake-ups had started it; growing on them lets the pair
/// find its way back to spinning.
/// - A maximum of zero (more spinning threads than cores) disables spinning for good.
struct SpinBudget: Sendable, Equatable {
    /// The longest spin, nanoseconds; zero disables spinning.
    let maximum: UInt64
    /// The current budget, nanoseconds.
    private(set) var current: UInt64

    /// Budgets below this are treated as zero, and a budget that grows from zero starts here.
    static let minimumStep: UInt64 = 2_000

    /// An arrival within this many maxima after the reader went to sleep counts as "soon" and grows the budget.
    static let reachFactor: UInt64 = 4

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
        if slept <= maximum.multipliedReportingOverflow(by: SpinBudget.reachFactor).partialValue {
            current = min(maximum, max(SpinBudget.minimumStep, current * 2))
        } else {
            current /= 2
            if current < SpinBudget.minimumStep { current = 0 }
        }
    }
}
