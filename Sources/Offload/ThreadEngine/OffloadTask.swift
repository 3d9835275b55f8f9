import OffloadSystem

/// Cooperative cancellation for work running on a pool thread.
///
/// Pool threads are not Swift tasks, so `Task.isCancelled` is always `false` inside `pool.run { }`. Call
/// ``isCancelled`` or ``checkCancellation()`` instead: they report whether the task running on the current pool thread
/// was cancelled (its handle's `cancel()`, or the Swift task awaiting it was cancelled). Outside pool work they fall
/// back to `Task.isCancelled`, so the same code works in `.io` mode too.
///
/// ```swift
/// let total = try await pool.run {
///     var sum = 0
///     for chunk in chunks {
///         try OffloadTask.checkCancellation()
///         sum += process(chunk)
///     }
///     return sum
/// }
/// ```
public enum OffloadTask {
    /// Whether the current pool task (or, outside a pool, the current Swift task) has been asked to stop.
    public static var isCancelled: Bool {
        if let current = ThreadContext.currentTask { return current.isCancellationRequested }
        if let cell = CurrentCell.cell, cell.isCancellationRequested { return true }
        return Task.isCancelled
    }

    /// Throws `CancellationError` if ``isCancelled``.
    /// - Throws: `CancellationError`.
    public static func checkCancellation() throws {
        if isCancelled { throw CancellationError() }
    }
}

/// Something whose cancellation a running task can poll.
package protocol CancellationSource: AnyObject, Sendable {
    var isCancellationRequested: Bool { get }
}

extension CompletionCell: CancellationSource {}

/// Per-thread record of the pool task the thread is running, kept in a pthread key.
enum ThreadContext {
    private final class Slot {
        var task: (any CancellationSource)?
        var pool: ObjectIdentifier?
    }

    private static let slots = ThreadLocal { Slot() }

    private static var slot: Slot { slots.value }

    /// The pool task running on this thread, if any.
    static var currentTask: (any CancellationSource)? {
        slots.existingValue?.task
    }

    /// The pool whose worker loop runs on this thread, if any.
    static var currentPool: ObjectIdentifier? {
        slots.existingValue?.pool
    }

    /// Records that this thread is a worker of `pool` (set once, at the start of a worker loop).
    static func enterPool(_ pool: ObjectIdentifier) {
        slot.pool = pool
    }

    /// Runs `body` with `task` recorded as this thread's current task.
    static func withCurrentTask<R>(_ task: any CancellationSource, _ body: () throws -> R) rethrows -> R {
        let slot = self.slot
        let previous = slot.task
        slot.task = task
        defer { slot.task = previous }
        return try body()
    }
}
