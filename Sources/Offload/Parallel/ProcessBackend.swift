/// `.processes` mode of ``WorkerPool``. Replaced by the ProcessPool-backed implementation when the process pool lands.
final class ProcessBackend: Sendable {
    let workerCount: Int
    var workersReplaced: Int { 0 }

    init(workers: Int?) async throws {
        workerCount = try WorkerCount.resolve(workers)
        throw OffloadError.invalidArgument("mode .processes is not available yet in this build")
    }

    func run<J: Job>(_ job: J) async throws -> J.Output { try job.run() }
    func map<J: Job>(_ jobs: [J]) async throws -> [J.Output] { try jobs.map { try $0.run() } }
    func shutdown(cancelPending: Bool) async {}
}
