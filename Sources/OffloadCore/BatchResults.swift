/// The per-item outcomes of a batch of jobs submitted as one task (``JobExecutor/submitBatch(_:options:)``): one
/// `Result` per job, in the order of the jobs.
///
/// A crash, timeout or error inside a batch fails only the job it happened to; every other job of the batch still
/// delivers its own outcome. When every job succeeded the outputs are stored as a plain array (``values``), so the
/// all-or-nothing maps pay nothing for the per-item view.
public struct BatchResults<Output: Sendable>: Sendable, RandomAccessCollection {
    @usableFromInline
    package enum Storage: Sendable {
        case values([Output])
        case outcomes([Result<Output, OffloadError>])
    }

    @usableFromInline
    package let storage: Storage

    /// How long the worker spent running the batch's jobs, when the executor measured it (``ChunkPolicy`` sizes
    /// later chunks from it).
    public let runDuration: Duration?

    @usableFromInline
    package init(values: [Output], runDuration: Duration? = nil) {
        storage = .values(values)
        self.runDuration = runDuration
    }

    @usableFromInline
    package init(outcomes: [Result<Output, OffloadError>], runDuration: Duration? = nil) {
        storage = .outcomes(outcomes)
        self.runDuration = runDuration
    }

    public var startIndex: Int { 0 }

    public var endIndex: Int {
        switch storage {
        case .values(let values): return values.count
        case .outcomes(let outcomes): return outcomes.count
        }
    }

    public subscript(position: Int) -> Result<Output, OffloadError> {
        switch storage {
        case .values(let values): return .success(values[position])
        case .outcomes(let outcomes): return outcomes[position]
        }
    }

    /// Every output, when every job succeeded; `nil` when at least one failed.
    public var values: [Output]? {
        switch storage {
        case .values(let values): return values
        case .outcomes(let outcomes):
            var values: [Output] = []
            values.reserveCapacity(outcomes.count)
            for outcome in outcomes {
                guard case .success(let value) = outcome else { return nil }
                values.append(value)
            }
            return values
        }
    }

    /// The first failure in job order, if any, with its position in the batch.
    public var firstFailure: (offset: Int, error: OffloadError)? {
        guard case .outcomes(let outcomes) = storage else { return nil }
        for (offset, outcome) in outcomes.enumerated() {
            if case .failure(let error) = outcome { return (offset, error) }
        }
        return nil
    }
}
