import OffloadCore
import OffloadSystem
import OffloadWire
import Synchronization

/// In a worker process: sends what the jobs of a watched task report through ``JobProgress`` to the parent, as
/// `progress` frames, at most one every ``interval`` (the newest fraction wins; a job that reports a million times
/// sends ten frames a second). Lives on the worker loop's thread, which also runs the jobs.
final class WorkerProgressRelay: JobProgressSink, @unchecked Sendable {
    // @unchecked Sendable: created, used and dropped on the worker loop's thread only (jobs run synchronously on it);
    // `JobProgress`'s task-local requires the type to be Sendable, but it never crosses a thread.
    static let interval: UInt64 = 100_000_000

    let taskID: UInt64
    let output: WorkerLoop.Output
    /// The batch item running now.
    var item = 0
    private var lastSent: UInt64 = 0

    init(taskID: UInt64, output: WorkerLoop.Output) {
        self.taskID = taskID
        self.output = output
    }

    func report(fractionCompleted: Double) {
        let now = Syscalls.monotonicNanoseconds()
        guard lastSent == 0 || now &- lastSent >= Self.interval else { return }
        lastSent = now
        Message.progress(taskID: taskID, item: item, fraction: fractionCompleted).append(to: &output.writer)
        output.flush()
    }
}
