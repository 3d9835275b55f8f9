import COffloadShims
import Synchronization

extension Mutex where Value: ~Copyable {
    /// `withLock`, plus ThreadSanitizer annotations on `owner`'s address.
    ///
    /// `Mutex` takes its contended path inside the Swift runtime, which is not instrumented, so under
    /// `--sanitize=thread` TSan misses the happens-before edge between one thread's unlock and the next one's lock and
    /// reports every contended critical section as a race (reproduced with a six-line program: four threads appending
    /// to a `Mutex<[Int]>`). Announcing the acquire and release on the owner's address restores the edge. Outside TSan
    /// builds the annotations are calls to empty functions.
    @inline(__always) @usableFromInline
    package borrowing func withLock<Result, E: Error>(
        _ owner: AnyObject,
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        let token = UnsafeRawPointer(Unmanaged.passUnretained(owner).toOpaque())
        return try withLock { (value: inout sending Value) throws(E) -> sending Result in
            coffload_tsan_acquire(token)
            defer { coffload_tsan_release(token) }
            return try body(&value)
        }
    }
}

/// The `owner` for ``Synchronization/Mutex/withLock(_:_:)`` of a mutex that no object holds (a static one).
///
/// Only its address is used, as ThreadSanitizer's name for the lock. Keep it in a `static let` next to the mutex: it then
/// lives as long as the mutex (for the rest of the process) and every critical section of that mutex announces the same
/// address. Sharing one owner between several static mutexes of a type is sound too; it only adds edges.
package final class MutexOwner: Sendable {
    package init() {}
}
