import Synchronization

/// Receives what every pool reports about itself: lifecycle events (``PoolEvent``: rare) and its counters
/// (``PoolReport``: once per batch of finished tasks, never per task).
///
/// Install one with ``PoolObservation/add(_:)``; the `OffloadMetrics` and `OffloadLogging` products provide
/// observers for swift-metrics and swift-log, so most programs write one line:
///
/// ```swift
/// OffloadMetrics.bootstrap()                           // after MetricsSystem.bootstrap(...)
/// OffloadLogging.bootstrap(logger: Logger(label: "offload"))
/// ```
///
/// Methods are called on the pools' own threads, outside their locks: keep them short and never block.
public protocol PoolObserver: Sendable {
    /// A pool started or stopped, or one of its workers started, exited or was replaced.
    func poolEvent(_ event: PoolEvent)
    /// A pool's counters after a batch of tasks (cumulative: see ``PoolReport``).
    func poolReport(_ report: PoolReport)
}

extension PoolObserver {
    public func poolEvent(_ event: PoolEvent) {}
    public func poolReport(_ report: PoolReport) {}
}

/// The observers every pool reports to.
///
/// With no observer installed a pool pays one relaxed atomic load per batch of tasks, and nothing else.
public enum PoolObservation {
    private static let observers = Mutex<[(id: Int, observer: any PoolObserver)]>([])
    private static let nextID = Atomic<Int>(1)
    private static let count = Atomic<Int>(0)
    /// Names `observers` to ThreadSanitizer: every pool's threads read it, at once, while anyone observes.
    private static let owner = MutexOwner()

    /// Installs an observer for every pool of the process, from now on.
    /// - Parameter observer: the observer.
    /// - Returns: a token for ``remove(_:)``.
    @discardableResult
    public static func add(_ observer: any PoolObserver) -> Token {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let total = observers.withLock(owner) { list in
            list.append((id, observer))
            return list.count
        }
        count.store(total, ordering: .releasing)
        return Token(id: id)
    }

    /// Uninstalls an observer.
    /// - Parameter token: what ``add(_:)`` returned.
    public static func remove(_ token: Token) {
        let total = observers.withLock(owner) { list in
            list.removeAll { $0.id == token.id }
            return list.count
        }
        count.store(total, ordering: .releasing)
    }

    /// Identifies an installed observer.
    public struct Token: Sendable, Hashable {
        let id: Int
    }

    /// Whether anyone observes the pools: checked before a report is even assembled.
    @inlinable
    package static var isActive: Bool { activeCount > 0 }

    @usableFromInline
    package static var activeCount: Int { count.load(ordering: .relaxed) }

    private static var current: [any PoolObserver] {
        observers.withLock(owner) { list in list.map(\.observer) }
    }

    /// Hands `event` to every observer.
    package static func emit(_ event: PoolEvent) {
        guard isActive else { return }
        for observer in current { observer.poolEvent(event) }
    }

    /// Hands `report` to every observer.
    package static func emit(_ report: PoolReport) {
        guard isActive else { return }
        for observer in current { observer.poolReport(report) }
    }
}
