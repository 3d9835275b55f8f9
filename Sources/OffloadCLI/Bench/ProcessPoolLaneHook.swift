/// Where the `processpool` lane plugs in.
///
/// TODO(process-pool): the ProcessPool developer's bench code (ProcessBench/) provides the factory — the lead replaces
/// `nil` below with it once ProcessPool lands on main. Until then the lane is reported as unavailable, with
/// ``unavailableReason``, and the other lanes run as usual.
enum ProcessPoolLaneHook {
    /// Makes a session that runs `kind` sized by `n` on `workers` worker processes; `nil` while not wired.
    static let makeSession:
        (@Sendable (_ kind: WorkloadKind, _ n: Int, _ workers: Int) async throws -> any LaneSession)? = {
            kind, n, workers in try await ProcessPoolLaneSession.make(kind: kind, n: n, workers: workers)
        }

    /// The notice printed when the lane is skipped.
    static let unavailableReason = "processpool lane skipped: ProcessPool is not wired into this build yet"
}
