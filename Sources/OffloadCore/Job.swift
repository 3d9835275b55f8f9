import Synchronization

/// A unit of work with a type, an input encoded in the job's stored properties, and a typed output.
///
/// Jobs are the currency of process pools — and of any executor that runs work somewhere other than the calling
/// process — because, unlike closures, they can be encoded, sent, decoded and run by code that was compiled into the
/// receiving program. Only job types registered with a ``JobRegistry`` can run in a worker: nothing in a payload is
/// executable. The same job also runs in-process on a ``ThreadPool`` or ``IsolatedPool`` (``Job/run()`` is an
/// ordinary method), so code written against jobs can move between pools, and later between machines, unchanged.
///
/// ```swift
/// struct CountPrimes: Job {
///     var range: Range<Int>
///     func run() throws -> Int { range.count(where: isPrime) }
/// }
/// ```
///
/// Python mapping: a job is the picklable `fn, *args` pair handed to `ProcessPoolExecutor.submit`, made explicit and
/// checked at compile time.
public protocol Job: Codable, Sendable {
    /// What the job produces.
    associatedtype Output: Codable & Sendable

    /// The name under which the job type is registered and sent over the wire. Defaults to the type's fully
    /// qualified name (`MyModule.CountPrimes`). Override it to keep the wire name stable across renames.
    static var jobName: String { get }

    /// Whether running the job twice has the same effect as running it once. Process pools retry only idempotent
    /// jobs after their worker crashed (when retries are configured). Defaults to `false`.
    static var isIdempotent: Bool { get }

    /// Does the work. Runs on a pool worker: a dedicated thread, or a worker process.
    func run() throws -> Output
}

extension Job {
    public static var jobName: String { JobNames.shared.name(of: Self.self) }
    public static var isIdempotent: Bool { false }
}

/// The default job names, computed once per type: `String(reflecting:)` demangles the type's name with dynamic casts
/// (microseconds), and every submission asks for its job's name.
final class JobNames: Sendable {
    static let shared = JobNames()
    private let names = Mutex<[ObjectIdentifier: String]>([:])

    func name<J>(of type: J.Type) -> String {
        let key = ObjectIdentifier(type)
        if let name = names.withLock(self, { $0[key] }) { return name }
        let name = String(reflecting: type)
        names.withLock(self) { $0[key] = name }
        return name
    }
}
