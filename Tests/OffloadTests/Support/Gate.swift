import Dispatch
import Foundation
import Synchronization

/// A gate that blocked pool threads wait at until the test opens it (async-algorithms `Support/Gate.swift`, made
/// for OS threads). Opening is sticky: everyone waiting now or later passes.
final class Gate: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let state = Mutex((open: false, waiting: 0))

    /// Blocks the calling thread until ``open()``.
    func wait() {
        let mustWait = state.withLock { state -> Bool in
            if state.open { return false }
            state.waiting += 1
            return true
        }
        if mustWait { semaphore.wait() }
    }

    /// Waits without blocking a cooperative thread (a Dispatch thread blocks instead).
    func waitAsync() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                self.wait()
                continuation.resume()
            }
        }
    }

    func open() {
        let waiting = state.withLock { state -> Int in
            state.open = true
            defer { state.waiting = 0 }
            return state.waiting
        }
        for _ in 0..<waiting { semaphore.signal() }
    }
}

/// Counts down from `count`; threads (or tasks) can block until it reaches zero.
final class Latch: Sendable {
    private let gate = Gate()
    private let remaining: Mutex<Int>

    init(count: Int) {
        remaining = Mutex(count)
        if count <= 0 { gate.open() }
    }

    func countDown() {
        let reachedZero = remaining.withLock { value -> Bool in
            value -= 1
            return value == 0
        }
        if reachedZero { gate.open() }
    }

    /// Blocks the calling thread until the count reaches zero.
    func wait() { gate.wait() }

    /// Waits without blocking a cooperative thread.
    func waitAsync() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                self.gate.wait()
                continuation.resume()
            }
        }
    }
}

/// A thread-safe counter for tests.
final class Counter: Sendable {
    private let value = Mutex(0)
    /// Adds one and returns the new count, atomically.
    @discardableResult
    func increment() -> Int {
        value.withLock { value in
            value += 1
            return value
        }
    }
    var current: Int { value.withLock { $0 } }
}

/// The names of this process's threads, from /proc/self/task/*/comm.
func threadNames() -> [String] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.compactMap { task in
        (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

struct TestFailure: Error, Equatable {
    let id: Int
}
