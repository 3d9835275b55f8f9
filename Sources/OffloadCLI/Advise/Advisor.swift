/// The decision guide behind `offload advise`, as a pure function of the workload's profile.
enum Advisor {
    /// What the work mostly does.
    enum Bound: String, Codable, Sendable {
        case cpu, io
    }

    /// What the user told us.
    struct Profile: Codable, Sendable, Equatable {
        var bound: Bound
        var sharedState: Bool
        var threadUnsafeLibrary: Bool
        var needsCrashIsolation: Bool
        /// Numeric work that does the same arithmetic over arrays of numbers.
        var vectorisable: Bool
        /// Number of items, if known.
        var inputSize: Int?

        enum CodingKeys: String, CodingKey {
            case bound
            case sharedState = "shared_state"
            case threadUnsafeLibrary = "thread_unsafe_library"
            case needsCrashIsolation = "needs_crash_isolation"
            case vectorisable
            case inputSize = "input_size"
        }
    }

    /// The answers.
    enum Choice: String, Codable, Sendable {
        case io, threads, vectorise, isolated, processes
    }

    struct Advice: Codable, Sendable {
        var recommendation: Choice
        var reasons: [String]
        /// The one line of Offload to write.
        var call: String
        /// What a Python programmer would have reached for.
        var pythonEquivalent: String

        enum CodingKeys: String, CodingKey {
            case recommendation, reasons, call
            case pythonEquivalent = "python_equivalent"
        }
    }

    /// The recommendation for `profile`, with the reasons in the order they decided.
    static func advise(_ profile: Profile) -> Advice {
        var reasons: [String] = []
        let choice: Choice
        if profile.needsCrashIsolation {
            choice = .processes
            reasons.append("crash isolation: only a separate process survives a crash in the work (a Swift trap such as "
                           + "a force-unwrap of nil or an overflow, abort(), a segfault in a C library) — the pool "
                           + "replaces the dead worker and the caller gets a typed error instead of dying")
            if profile.bound == .io {
                reasons.append("the work is I/O-bound: keep the I/O in async code and send only the risky part to the "
                               + "process pool")
            }
        } else if profile.bound == .io {
            choice = .io
            reasons.append("I/O-bound: the work waits, it does not compute — async tasks cost a few hundred bytes "
                           + "each and wait without holding a thread, so thousands can be in flight")
            reasons.append("bound the concurrency (a TaskGroup with at most N children in flight; asyncio.TaskGroup + "
                           + "Semaphore in Python) so the server or the file "
                           + "descriptor limit is not overwhelmed")
            if profile.threadUnsafeLibrary {
                reasons.append("the library is not thread-safe: call it from one actor (or wrap it in a Mutex); "
                               + "async tasks interleave only at `await`")
            }
        } else if profile.threadUnsafeLibrary {
            choice = .isolated
            reasons.append("CPU-bound: it needs cores, so it needs threads — Swift has no GIL, threads run in parallel")
            reasons.append("the library is not thread-safe: give each worker its own instance, made once by the pool's "
                           + "initializer on that worker's thread; the work gets `inout State`, no locks in user code "
                           + "(Python's InterpreterPoolExecutor, without the pickling)")
        } else if profile.vectorisable {
            choice = .vectorise
            reasons.append("numeric and vectorisable: vectorise first, then add cores — SIMD types (SIMD8<Double>) "
                           + "do several elements per instruction on ONE core; a ThreadPool then multiplies that by "
                           + "the cores (Python's answer is NumPy, whose C loops also release the GIL)")
            reasons.append("the compiler does not reorder floating-point additions for you (the result could "
                           + "change), so write the independent SIMD accumulators yourself; "
                           + "`offload bench --workload numpy-sum-of-squares` shows both multipliers on this machine")
            if profile.sharedState {
                reasons.append("shared mutable state: give each chunk its own accumulator and add them after map")
            }
        } else {
            choice = .threads
            reasons.append("CPU-bound: it needs cores — Swift has no GIL, so threads run in parallel (in Python this "
                           + "would need processes or interpreters)")
            if profile.sharedState {
                reasons.append("shared mutable state: keep it behind a Mutex or an Atomic (or merge per-item results "
                               + "after map); Swift 6 refuses to compile unsynchronised sharing, so a data race cannot "
                               + "slip in silently")
            } else {
                reasons.append("no shared state: map over the items and let the pool chunk them")
            }
        }
        if let size = profile.inputSize {
            if size <= 1 {
                reasons.append("one item: there is nothing to spread — run it directly, or split it into pieces first")
            } else if size < 1_000 && choice != .io {
                reasons.append("\(size) items: make sure each is worth ~100 µs or more, or the per-item overhead eats "
                               + "the gain (run `offload bench --workload tiny` to see it)")
            } else if size >= 1_000_000 {
                reasons.append("\(Format.grouped(size)) items: use map (chunked, bounded in flight) rather than one "
                               + "submit per item, so the input is not held twice and overhead is amortised")
            }
        }
        return Advice(recommendation: choice, reasons: reasons, call: call(for: choice, profile),
                      pythonEquivalent: pythonEquivalent(for: choice))
    }

    static func call(for choice: Choice, _ profile: Profile) -> String {
        switch choice {
        case .io:
            return "let pages = try await parallelMap(urls, mode: .io(maxConcurrency: 16)) { try await fetch($0) }"
        case .threads:
            return "let results = try await withThreadPool { pool in try await pool.map(items) { work($0) } }"
        case .vectorise:
            return "let total = try await withThreadPool { pool in try await pool.map(chunks) { sumSIMD($0) } }"
                + ".reduce(0, +)  // sumSIMD: SIMD8<Double> accumulators over one chunk"
        case .isolated:
            return "let results = try await withIsolatedPool(makeState: { try Library() }) { pool in "
                + "try await pool.map(items) { library, item in library.process(item) } }"
        case .processes:
            return "let results = try await parallelMap(jobs: jobs, mode: .processes())  // jobs: [some Job] (Codable)"
        }
    }

    static func pythonEquivalent(for choice: Choice) -> String {
        switch choice {
        case .io: return "asyncio.TaskGroup + asyncio.Semaphore (or ThreadPoolExecutor for blocking I/O)"
        case .threads: return "ProcessPoolExecutor / InterpreterPoolExecutor (threads would not help under the GIL)"
        case .vectorise: return "NumPy (vectorised C that releases the GIL), then ThreadPoolExecutor over array chunks"
        case .isolated: return "InterpreterPoolExecutor(initializer=...) or ProcessPoolExecutor(initializer=...)"
        case .processes: return "ProcessPoolExecutor / multiprocessing.Pool"
        }
    }
}
