import OffloadCore

/// The life-cycle events the process pool reports (``PoolObservation``): built here, inside the machine, from what it
/// knows of the worker, and handed out as ``ProcessPoolStateMachine/Action/event(_:)`` actions, so that observers run
/// after the lock is released. Also the sampled run times and queue waits of ``PoolReport``.
extension ProcessPoolStateMachine {
    /// An event about the pool, or about the worker in slot `index`.
    func poolEvent(_ kind: PoolEvent.Kind, slot index: Int? = nil, pid: Int32? = nil) -> PoolEvent {
        PoolEvent(
            pool: settings.poolName,
            executor: .processes,
            kind: kind,
            workerPID: pid,
            workerIndex: index,
            workers: settings.workers
        )
    }

    /// The event for a worker that exited: why (from what the pool asked of it, else from how it ended), its signal or
    /// status, and its last standard-error lines.
    func exitEvent(_ dead: SlotState, slot index: Int, termination: OffloadError.Termination, stderr: [String])
        -> PoolEvent
    {
        var event = poolEvent(.workerExited, slot: index, pid: dead.handles?.pid)
        switch termination {
        case .exited(let status): event.exitStatus = status
        case .signaled(let signal): event.signal = signalName(signal)
        }
        event.stderrTail = stderr
        event.cause = exitCause(dead, termination: termination)
        return event
    }

    private func exitCause(_ dead: SlotState, termination: OffloadError.Termination) -> PoolEvent.Cause {
        switch dead.killReason {
        case .taskTimeout: return .timedOut
        case .memory: return .memoryLimit
        case .protocolViolation: return .protocolViolation
        case .startTimeout: return .startFailed
        case .cancelled: return .cancelled
        case .broken: return .startFailed
        case .shutdown:
            // Retired: after its quota while the pool runs (recycling), or because the pool is stopping.
            return lifecycle == .running ? .recycled : .shutdown
        case nil:
            if case .starting = dead.phase { return .startFailed }
            if case .stopping = lifecycle, termination == .exited(0) { return .shutdown }
            return .crashed
        }
    }

    /// Keeps a task's run time for the next report (at most ``PoolReport/sampleLimit`` between two reports).
    mutating func sampleDuration(_ nanoseconds: UInt64) {
        if sampledDurations.count < PoolReport.sampleLimit { sampledDurations.append(nanoseconds) }
    }

    /// Keeps how long a task waited between submission and being sent to a worker.
    mutating func sampleQueueWait(since queuedAt: UInt64, now: UInt64) {
        if sampledQueueWaits.count < PoolReport.sampleLimit, now >= queuedAt {
            sampledQueueWaits.append(now - queuedAt)
        }
    }

    /// The report of the pool's counters now, with the samples taken since the last one.
    mutating func takeReport(bytesSent: Int, bytesReceived: Int) -> PoolReport {
        defer {
            sampledDurations.removeAll(keepingCapacity: true)
            sampledQueueWaits.removeAll(keepingCapacity: true)
        }
        return PoolReport(
            pool: settings.poolName,
            executor: .processes,
            stats: stats,
            durations: sampledDurations.map { .nanoseconds(Int64(clamping: $0)) },
            queueWaits: sampledQueueWaits.map { .nanoseconds(Int64(clamping: $0)) },
            bytesSent: bytesSent,
            bytesReceived: bytesReceived
        )
    }
}
