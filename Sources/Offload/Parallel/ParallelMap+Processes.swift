/// `.processes` mode for jobs. Replaced by the ProcessPool-backed implementation when the process pool lands.
func runJobsInProcesses<J: Job>(_ jobs: [J], workers: Int?) async throws -> [J.Output] {
    throw OffloadError.invalidArgument("mode .processes is not available yet in this build")
}
