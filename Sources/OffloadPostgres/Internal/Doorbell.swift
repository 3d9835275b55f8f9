import OffloadCore
import Synchronization

/// A coalescing wake-up: any number of `ring()`s before a `wait` wake it once. One waiter at a time.
final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
        var generation = 0
    }

    private let state = Mutex(State())

    func ring() {
        let waiter = state.withLock(self) { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.rung = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when rung (at once if rung since the last wait), after `timeout`, or when the task is cancelled.
    func wait(timeout: Duration) async {
        if state.withLock(self, { state in
            defer { state.rung = false }
            return state.rung
        }) {
            return
        }
        let generation = state.withLock(self) { state -> Int in
            state.generation += 1
            return state.generation
        }
        let timer = Task { [self] in
            try? await Task.sleep(for: timeout)
            wake(generation)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock(self) { state -> Bool in
                    if state.rung || state.generation != generation {
                        state.rung = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            wake(generation)
        }
        timer.cancel()
    }

    private func wake(_ generation: Int) {
        let waiter = state.withLock(self) { state -> CheckedContinuation<Void, Never>? in
            guard state.generation == generation else { return nil }
            state.generation += 1
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
