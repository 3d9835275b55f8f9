/// Where a process-pool task's outcome goes: the type-erased bridge between the untyped pool (bytes) and the typed
/// ``TaskHandle`` the caller holds.
package protocol TaskSink: AnyObject, Sendable {
    /// pending → running; `false` when the task was cancelled first.
    func start() -> Bool
    /// Whether the task was cancelled before it started (its queue entry is dead weight).
    var isCancelled: Bool { get }
    /// pending → cancelled, calling `then` before waiters resume; `false` when already started or ended.
    func cancelIfPending(then: (_ withdrawn: Bool) -> Void) -> Bool
    /// The handle's cell: how a pool finds the task a ``TaskHandle`` wants to cancel.
    var cell: CompletionCell { get }
    /// Decodes a single job's output. Returns whether decoding succeeded and a closure that delivers the outcome;
    /// the pool counts the outcome between the two, so that awakened callers see it already counted. A failure names
    /// the job and the worker, and carries the `DecodingError` as its cause. `runDuration` is how long the worker
    /// ran the job, when it said.
    func decodeValue(
        _ payload: [UInt8],
        job: @autoclosure () -> String,
        workerPID: Int32?,
        runDuration: Duration?
    ) -> (succeeded: Bool, finish: @Sendable () -> Void)
    /// Assembles a batch's per-item outcomes: `outputs` is an encoded `[Output]` holding, in order, the outputs of the
    /// `count` items not in `failures`. `succeeded` is `false` when any item failed. `runDuration` is how long the
    /// worker ran the batch's items, when it said (``BatchResults/runDuration``, which sizes a map's later chunks).
    func decodeBatch(
        outputs: [UInt8],
        failures: [Int: OffloadError],
        count: Int,
        describe: (Int) -> String,
        workerPID: Int32?,
        runDuration: Duration?
    ) -> (succeeded: Bool, finish: @Sendable () -> Void)
    /// Delivers a failure of the whole task.
    func fail(_ error: OffloadError)
    /// Ends the task as cancelled although it had started (its result, if it still comes, is dropped).
    func finishCancelled()
}

extension TaskSink {
    package func fail(_ error: OffloadError) { cell.finish(.failure(error)) }
    package func finishCancelled() { cell.finish(.failure(CancellationError())) }
    package func start() -> Bool { cell.tryStart() }
    package func cancelIfPending(then: (_ withdrawn: Bool) -> Void) -> Bool { cell.cancelIfPending(then: then) }
    package var isCancelled: Bool {
        if case .cancelled = cell.phase { return true }
        return false
    }

    /// The answer to a result of the wrong shape (a batch's for a single job, or the reverse): the task fails with
    /// a protocol violation.
    package func wrongShape(_ message: String) -> (succeeded: Bool, finish: @Sendable () -> Void) {
        let cell = self.cell
        let error = OffloadError.protocolViolation(message)
        return (false, { cell.finish(.failure(error)) })
    }

    /// The error for an output the parent could not decode: names the job and the worker, keeps the cause, and is not
    /// a remote error (nothing failed in the worker).
    static func undecodable(_ error: OffloadError, job: String, workerPID: Int32?) -> OffloadError {
        OffloadError(
            .decodingFailed,
            "could not decode the output of \(job)\(workerPID.map { " returned by worker \($0)" } ?? ""): "
                + error.message,
            workerPID: workerPID,
            job: job,
            cause: error.cause ?? error
        )
    }
}

/// The sink of one job (`Value == J.Output`).
package final class CompletionSink<Value: Sendable & Decodable>: TaskSink {
    package let completion: TaskCompletion<Value>

    package init(completion: TaskCompletion<Value>) {
        self.completion = completion
    }

    package var cell: CompletionCell { completion.cell }

    package func decodeValue(
        _ payload: [UInt8],
        job: @autoclosure () -> String,
        workerPID: Int32?,
        runDuration: Duration?
    ) -> (succeeded: Bool, finish: @Sendable () -> Void) {
        let completion = self.completion
        do throws(OffloadError) {
            let value = try JobCodec.decode(Value.self, from: payload)
            return (true, { completion.finish(.success(value)) })
        } catch {
            let failure = Self.undecodable(error, job: job(), workerPID: workerPID)
            return (false, { completion.finish(.failure(failure)) })
        }
    }

    package func decodeBatch(
        outputs: [UInt8],
        failures: [Int: OffloadError],
        count: Int,
        describe: (Int) -> String,
        workerPID: Int32?,
        runDuration: Duration?
    ) -> (succeeded: Bool, finish: @Sendable () -> Void) {
        wrongShape("a batch result arrived for a single job")
    }
}

/// The sink of a batch of one job sent as a single job (one frame each way without a batch's bookkeeping, in the
/// parent and in the worker): its value is still a ``BatchResults`` of one outcome, and whatever ends the job — its
/// error, a crash, a timeout, an output that does not decode — is that outcome, as in any batch. Only a cancellation
/// ends the handle itself.
package final class SoloBatchSink<Output: Sendable & Decodable>: TaskSink {
    package let completion: TaskCompletion<BatchResults<Output>>

    package init(completion: TaskCompletion<BatchResults<Output>>) {
        self.completion = completion
    }

    package var cell: CompletionCell { completion.cell }

    package func decodeValue(
        _ payload: [UInt8],
        job: @autoclosure () -> String,
        workerPID: Int32?,
        runDuration: Duration?
    ) -> (succeeded: Bool, finish: @Sendable () -> Void) {
        let completion = self.completion
        do throws(OffloadError) {
            let value = try JobCodec.decode(Output.self, from: payload)
            let results = BatchResults(values: [value], runDuration: runDuration)
            return (true, { completion.finish(.success(results)) })
        } catch {
            let job = job()
            let failure = Self.undecodable(error, job: job, workerPID: workerPID).attributed(toIndex: 0, job: job)
            let results = BatchResults<Output>(outcomes: [.failure(failure)], runDuration: runDuration)
            return (false, { completion.finish(.success(results)) })
        }
    }

    package func decodeBatch(
        outputs: [UInt8],
        failures: [Int: OffloadError],
        count: Int,
        describe: (Int) -> String,
        workerPID: Int32?,
        runDuration: Duration?
    ) -> (succeeded: Bool, finish: @Sendable () -> Void) {
        wrongShape("a batch result arrived for a job sent alone")
    }

    package func fail(_ error: OffloadError) {
        completion.finish(.success(BatchResults(outcomes: [.failure(error.attributed(toIndex: 0, job: error.job))])))
    }
}

/// The sink of a batch: its value is one outcome per job (``BatchResults``).
package final class BatchSink<Output: Sendable & Decodable>: TaskSink {
    package let completion: TaskCompletion<BatchResults<Output>>

    package init(completion: TaskCompletion<BatchResults<Output>>) {
        self.completion = completion
    }

    package var cell: CompletionCell { completion.cell }

    package func decodeValue(
        _ payload: [UInt8],
        job: @autoclosure () -> String,
        workerPID: Int32?,
        runDuration: Duration?
    ) -> (succeeded: Bool, finish: @Sendable () -> Void) {
        wrongShape("a single result arrived for a batch of \(job())")
    }

    package func decodeBatch(
        outputs: [UInt8],
        failures: [Int: OffloadError],
        count: Int,
        describe: (Int) -> String,
        workerPID: Int32?,
        runDuration: Duration?
    ) -> (succeeded: Bool, finish: @Sendable () -> Void) {
        let completion = self.completion
        let results = Self.assemble(outputs, failures, count, describe, workerPID, runDuration)
        let succeeded: Bool
        if case .values = results.storage { succeeded = true } else { succeeded = false }
        return (succeeded, { completion.finish(.success(results)) })
    }

    private static func assemble(
        _ outputs: [UInt8],
        _ failures: [Int: OffloadError],
        _ count: Int,
        _ describe: (Int) -> String,
        _ pid: Int32?,
        _ runDuration: Duration?
    ) -> BatchResults<Output> {
        let expected = count - failures.count
        if let values = try? JobCodec.decode([Output].self, from: outputs), values.count == expected {
            if failures.isEmpty { return BatchResults(values: values, runDuration: runDuration) }
            var outcomes: [Result<Output, OffloadError>] = []
            outcomes.reserveCapacity(count)
            var next = values.makeIterator()
            for index in 0..<count {
                if let failure = failures[index] {
                    outcomes.append(.failure(failure))
                } else if let value = next.next() {
                    outcomes.append(.success(value))
                }
            }
            return BatchResults(outcomes: outcomes, runDuration: runDuration)
        }
        // Some output does not decode: decode them one by one, so that only the undecodable ones fail, by name.
        let elements = splitElements(outputs)
        var outcomes: [Result<Output, OffloadError>] = []
        outcomes.reserveCapacity(count)
        var position = 0
        for index in 0..<count {
            if let failure = failures[index] {
                outcomes.append(.failure(failure))
                continue
            }
            defer { position += 1 }
            let job = describe(index)
            guard position < elements.count else {
                let missing = OffloadError(
                    .protocolViolation,
                    "the worker sent no output for item \(index) of the batch",
                    workerPID: pid,
                    job: job,
                    index: index
                )
                outcomes.append(.failure(missing))
                continue
            }
            do throws(OffloadError) {
                outcomes.append(.success(try JobCodec.decode(Output.self, from: elements[position])))
            } catch {
                outcomes.append(
                    .failure(undecodable(error, job: job, workerPID: pid).attributed(toIndex: index, job: job))
                )
            }
        }
        return BatchResults(outcomes: outcomes, runDuration: runDuration)
    }

    /// The encoded elements of an encoded array (an unkeyed container of self-delimiting values). A value of a
    /// plain-data run (`fixedRepeat`) gets the fingerprint of the `fixed` value that began its run, so that each
    /// element decodes on its own.
    private static func splitElements(_ bytes: [UInt8]) -> [[UInt8]] {
        guard bytes.first == BinaryTag.unkeyed else { return [] }
        let reader = BinaryReader(bytes: bytes)
        var elements: [[UInt8]] = []
        var position = 1
        var runHeader: ArraySlice<UInt8>?
        var runSize = 0
        while position < bytes.count, bytes[position] != BinaryTag.end {
            if bytes[position] == BinaryTag.fixedRepeat, let header = runHeader {
                let end = position + 1 + runSize
                guard end <= bytes.count else { break }
                elements.append(Array(header) + bytes[position + 1..<end])
                position = end
                continue
            }
            guard let end = try? reader.skip(at: position, depth: 1), end > position else { break }
            if bytes[position] == BinaryTag.fixed {
                let headerEnd = position + 1 + FixedLayoutFingerprint.encodedCount
                runHeader = bytes[position..<headerEnd]
                runSize = end - headerEnd
            } else {
                runHeader = nil
            }
            elements.append(Array(bytes[position..<end]))
            position = end
        }
        return elements
    }
}
