import COffloadShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A joinable OS thread with a name, started with `pthread_create` (no Foundation, no Dispatch).
///
/// Written by hand because neither the standard library nor the packages we depend on offer a dedicated OS thread
/// (swift-nio's `NIOThread` is internal to NIOPosix): Dispatch and Swift concurrency hand out *shared* threads, which is
/// exactly what CPU-bound pools must not occupy.
struct PoolThread: Sendable {
    #if canImport(Glibc)
    private let handle: pthread_t
    #else
    // Invariant: a pthread_t is an opaque identifier; it is only passed to pthread_join/pthread_detach, at most once.
    private nonisolated(unsafe) let handle: pthread_t
    #endif

    private final class Start {
        let name: String
        let body: () -> Void
        init(name: String, body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts a thread named `name` (truncated to 15 bytes, the Linux limit) that runs `body` and ends.
    /// - Throws: ``OffloadError/Code/systemCallFailed`` when `pthread_create` fails (e.g. too many threads).
    static func spawn(name: String, _ body: @escaping @Sendable () -> Void) throws(OffloadError) -> PoolThread {
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t?
        #endif
        let result = pthread_create(&thread, nil, { argument in
            let start = Unmanaged<Start>.fromOpaque(argument!).takeRetainedValue()
            _ = coffload_set_current_thread_name(threadName(start.name))
            start.body()
            return nil
        }, start)
        guard result == 0 else {
            Unmanaged<Start>.fromOpaque(start).release()
            throw OffloadError.systemCall("pthread_create", errno: result)
        }
        #if canImport(Glibc)
        return PoolThread(handle: thread)
        #else
        return PoolThread(handle: thread!)
        #endif
    }

    /// Waits for the thread to end. Call at most once, and never from the thread itself.
    func join() {
        _ = pthread_join(handle, nil)
    }

    /// Lets the thread release its resources by itself when it ends. Call at most once, instead of ``join()``.
    func detach() {
        _ = pthread_detach(handle)
    }
}

/// `name` cut to the 15 bytes Linux allows, at a character boundary.
func threadName(_ name: String) -> String {
    var result = ""
    for character in name {
        if result.utf8.count + character.utf8.count > 15 { break }
        result.append(character)
    }
    return result
}
