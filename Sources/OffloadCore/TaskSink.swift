/// Where a process-pool task's outcome goes: the type-erased bridge between the untyped manager (bytes) and the
/// typed ``TaskHandle`` the caller holds.
package protocol TaskSink: AnyObject, Sendable {
    /// pending → running; `false` when the task was cancelled first.
    func start() -> Bool
    /// Decodes a result payload. Returns whether decoding succeeded and a closure that delivers the outcome; the
    /// manager updates the pool's statistics between the two so that awakened callers see them already counted.
    func decode(_ payload: [UInt8]) -> (succeeded: Bool, finish: @Sendable () -> Void)
    /// Delivers a failure.
    func fail(_ error: OffloadError)
    /// pending → cancelled (shutdown with `cancelPending`), calling `then` before waiters resume; `false` when
    /// already started or ended.
    func cancelIfPending(then: (_ withdrawn: Bool) -> Void) -> Bool
    /// Whether the task was cancelled before it started (its queue entry is dead weight).
    var isCancelled: Bool { get }
}

/// A sink for one job (`Value == J.Output`) or one batch (`Value == [J.Output]`).
package final class CompletionSink<Value: Sendable & Decodable>: TaskSink {
    package let completion: TaskCompletion<Value>

    package init(completion: TaskCompletion<Value>) {
        self.completion = completion
    }

    package func start() -> Bool { completion.tryStart() }

    package func decode(_ payload: [UInt8]) -> (succeeded: Bool, finish: @Sendable () -> Void) {
        let completion = self.completion
        do throws(OffloadError) {
            let value = try JobCodec.decode(Value.self, from: payload)
            return (true, { completion.finish(.success(value)) })
        } catch {
            return (false, { completion.finish(.failure(error)) })
        }
    }

    package func fail(_ error: OffloadError) {
        completion.finish(.failure(error))
    }

    package func cancelIfPending(then: (_ withdrawn: Bool) -> Void) -> Bool { completion.cancelIfPending(then: then) }

    package var isCancelled: Bool {
        if case .cancelled = completion.cell.phase { return true }
        return false
    }
}
