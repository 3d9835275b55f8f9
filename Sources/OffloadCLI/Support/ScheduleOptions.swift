import ArgumentParser

/// The shared `--seed` option of the benchmarks: the seed of the shuffled order the lanes run in, round by round.
struct ScheduleOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Seed of the lanes' shuffled order in each round (default: a fresh one, printed with the report); "
                + "give a printed seed to repeat a run's schedule exactly.",
            valueName: "n")
    )
    var seed: UInt64?

    /// The seed to run with: the one given, or a fresh one.
    func resolvedSeed() -> UInt64 {
        seed ?? RoundOrder.randomSeed()
    }
}
