import DequeModule
import Synchronization

/// The ordered maps of every executor: chunks submitted lazily through `submit`, at most `window` in flight, results
/// collected in input order.
@usableFromInline
package enum OrderedChunks {
    /// All-or-nothing: the outputs in input order, or the first failure in input order (attributed to its input;
    /// every chunk still in flight is cancelled). An error a chunk's task throws (an in-process closure's own error,
    /// `CancellationError`) is rethrown unchanged.
    @inlinable
    package static func collectValues<S: Sequence, Output: Sendable>(
        _ items: S,
        policy: ChunkPolicy,
        window: Int,
        progress: ProgressMonitor? = nil,
        chunksCountThemselves: Bool = false,
        submit: (_ chunk: [S.Element], _ start: Int) throws(OffloadError) -> TaskHandle<BatchResults<Output>>
    ) async throws -> [Output] {
        var results: [Output] = []
        results.reserveCapacity(items.underestimatedCount)
        try await drive(
            items, policy: policy, window: window, progress: progress, chunksCountThemselves: chunksCountThemselves,
            submit: submit
        ) { start, chunk, batch throws(OffloadError) in
            if case .values(let values) = batch.storage {
                results.append(contentsOf: values)
                return
            }
            for offset in batch.indices {
                switch batch[offset] {
                case .success(let value): results.append(value)
                case .failure(let error):
                    throw error.attributed(toIndex: start + offset, job: describe(chunk[offset]))
                }
            }
        }
        return results
    }

    /// Per item: one `Result` per input, in input order; failures do not stop the map.
    @inlinable
    package static func collectOutcomes<S: Sequence, Output: Sendable>(
        _ items: S,
        policy: ChunkPolicy,
        window: Int,
        progress: ProgressMonitor? = nil,
        chunksCountThemselves: Bool = false,
        submit: (_ chunk: [S.Element], _ start: Int) throws(OffloadError) -> TaskHandle<BatchResults<Output>>
    ) async throws -> [Result<Output, OffloadError>] {
        var results: [Result<Output, OffloadError>] = []
        results.reserveCapacity(items.underestimatedCount)
        try await drive(
            items, policy: policy, window: window, progress: progress, chunksCountThemselves: chunksCountThemselves,
            submit: submit
        ) { start, chunk, batch in
            if case .values(let values) = batch.storage {
                for value in values { results.append(.success(value)) }
                return
            }
            for offset in batch.indices {
                results.append(
                    batch[offset].mapError { $0.attributed(toIndex: start + offset, job: describe(chunk[offset])) }
                )
            }
        }
        return results
    }

    /// The loop both ordered maps share. `consume` sees each finished chunk in input order.
    ///
    /// `chunksCountThemselves`: each chunk's task counts its own values in `progress` as it ends (an in-process
    /// chunk, with ``ProgressMonitor/chunkEnded(start:items:result:)``), so no completion callback is registered per
    /// chunk (one costs a closure and a dynamic cast of the chunk's result: half of what watching a trivial map cost
    /// per chunk). The consumer still counts every chunk it sees, its failures too; a chunk is counted once.
    @inlinable
    package static func drive<S: Sequence, Output: Sendable>(
        _ items: S,
        policy: ChunkPolicy,
        window: Int,
        progress: ProgressMonitor? = nil,
        chunksCountThemselves: Bool = false,
        submit: (_ chunk: [S.Element], _ start: Int) throws(OffloadError) -> TaskHandle<BatchResults<Output>>,
        consume: (_ start: Int, _ chunk: [S.Element], _ batch: BatchResults<Output>) throws(OffloadError) -> Void
    ) async throws {
        var policy = policy
        var iterator = items.makeIterator()
        var exhausted = false
        var nextStart = 0
        var queue = Deque<(start: Int, chunk: [S.Element], handle: TaskHandle<BatchResults<Output>>)>()
        let inFlight = InFlightHandles<BatchResults<Output>>()
        progress?.begin(total: ChunkedMap.knownCount(items))
        defer { progress?.finish() }
        do {
            while true {
                // The input is iterated here, in this function's own context — the caller's executor — and never
                // inside the cancellation handler's operation closure, which may run elsewhere: an input whose lazy
                // transform is isolated to the caller's actor (a `lazy.map` written in `main.swift`) must be
                // iterated on that actor.
                // Refilled in bursts (from half full back to full) rather than one chunk per finished chunk: a burst
                // of submissions reaches a worker as one run of commands that it reads at once, and its results come
                // back together, instead of every chunk costing each side a wake-up.
                let refill = queue.count <= window / 2
                while refill && !exhausted && queue.count < window {
                    let chunk = ChunkedMap.nextChunk(from: &iterator, size: policy.current)
                    if chunk.isEmpty {
                        exhausted = true
                        progress?.inputEnded(total: nextStart)
                    } else {
                        // A cancellation that arrived while earlier chunks were being submitted (reading the input
                        // may even have caused it): submit no more.
                        try Task.checkCancellation()
                        let handle = try submit(chunk, nextStart)
                        if let progress, !chunksCountThemselves {
                            ChunkedMap.watch(handle, start: nextStart, items: chunk.count, progress)
                        }
                        inFlight.append(handle)
                        queue.append((nextStart, chunk, handle))
                        nextStart += chunk.count
                    }
                }
                guard let head = queue.first else { return }
                if !head.handle.isFinished {
                    // Wait for a group, not for one chunk: for the chunk half a window behind the head (all of
                    // them, mostly, finish in order). The chunks before it are then consumed without suspending, so
                    // the executor resumes this task once per group instead of once per chunk — with short chunks,
                    // a thread woken per chunk costs more than the chunk. Its outcome is read in turn below.
                    let group = queue[min(queue.count, max(1, window / 2)) - 1].handle
                    _ = try? await withTaskCancellationHandler {
                        try await group.value
                    } onCancel: {
                        inFlight.cancelAll()
                    }
                }
                let oldest = queue.removeFirst()
                // Cancelling the awaiting task cancels every chunk in flight (the handler also runs at once when
                // the task was cancelled while it was submitting).
                let batch: BatchResults<Output>
                do {
                    batch = try await withTaskCancellationHandler {
                        try await oldest.handle.value
                    } onCancel: {
                        inFlight.cancelAll()
                    }
                } catch {
                    progress?.chunkEnded(
                        start: oldest.start,
                        items: oldest.chunk.count,
                        result: Result<BatchResults<Output>, any Error>.failure(error)
                    )
                    throw error
                }
                inFlight.removeOldest()
                progress?.chunkEnded(start: oldest.start, items: oldest.chunk.count, result: .success(batch))
                policy.record(items: oldest.chunk.count, runDuration: batch.runDuration)
                try consume(oldest.start, oldest.chunk, batch)
            }
        } catch {
            inFlight.cancelAll()
            throw error
        }
    }

    /// A short description of an input for error messages (jobs describe themselves; other inputs are not shown).
    @usableFromInline
    package static func describe<Element>(_ element: Element) -> String? {
        guard element is any Job else { return nil }
        var text = String(describing: element)
        if text.count > 200 { text = String(text.prefix(200)) + "…" }
        return text
    }
}

/// The handles of an ordered map's chunks in flight, oldest first, so that cancelling the awaiting task (which may
/// happen on any thread) cancels all of them. Chunks are consumed in the order they were submitted, so a queue does:
/// no hashing per chunk. Inlinable, so that its generic code is specialized where a map is (per chunk, unspecialized
/// code would look up the generic metadata of the queue's type).
@usableFromInline
package final class InFlightHandles<Value: Sendable>: Sendable {
    @usableFromInline let handles = Mutex<Deque<TaskHandle<Value>>>([])

    @inlinable
    package init() {}

    /// Adds the newest chunk's handle.
    @inlinable
    package func append(_ handle: TaskHandle<Value>) {
        handles.withLock(self) { $0.append(handle) }
    }

    /// Forgets the oldest chunk's handle (it was consumed).
    @inlinable
    package func removeOldest() {
        _ = handles.withLock(self) { $0.popFirst() }
    }

    @inlinable
    package func cancelAll() {
        let all = handles.withLock(self) { handles in
            defer { handles.removeAll() }
            return handles.isEmpty ? [] : Array(handles)
        }
        // Newest first: what no worker has started is withdrawn before what runs is stopped, so that a worker
        // replaced after a stop is not handed one of this map's chunks in between.
        for handle in all.reversed() { handle.cancel() }
    }
}
