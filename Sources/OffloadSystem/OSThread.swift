import COffloadShims
import Glibc

/// A dedicated, named OS thread started with `pthread_create` (no Foundation, no Dispatch): the workers of the
/// in-process pools and each process pool's manager.
///
/// Written by hand because neither the standard library nor the packages we depend on offer one (swift-nio's
/// `NIOThread` is internal to NIOPosix): Dispatch and Swift concurrency hand out *shared* threads, which is exactly
/// what CPU-bound pools must not occupy.
package struct OSThread: Sendable {
    private let handle: pthread_t

    private final class Start {
        let name: String
        let body: () -> Void
        init(name: String, body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts a thread named `name` (cut to 15 bytes at a character boundary, the Linux limit) that runs `body`.
    /// - Throws: ``SystemCallError`` when `pthread_create` fails (too many threads, say).
    package static func spawn(name: String, _ body: @escaping @Sendable () -> Void) throws(SystemCallError) -> OSThread {
        let start = Unmanaged.passRetained(Start(name: threadName(name), body: body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread,
            nil,
            { argument in
                // The retained box is released exactly once, here, by the thread it was created for.
                let start = Unmanaged<Start>.fromOpaque(argument!).takeRetainedValue()
                _ = coffload_set_current_thread_name(start.name)
                start.body()
                return nil
            },
            start
        )
        guard result == 0 else {
            Unmanaged<Start>.fromOpaque(start).release()
            throw SystemCallError("pthread_create", errno: result)
        }
        return OSThread(handle: thread)
    }

    /// Starts a thread that releases its own resources when `body` returns.
    package static func spawnDetached(name: String, _ body: @escaping @Sendable () -> Void) throws(SystemCallError) {
        try spawn(name: name, body).detach()
    }

    /// Waits for the thread to end. Call at most once, and never from the thread itself.
    package func join() {
        _ = pthread_join(handle, nil)
    }

    /// Lets the thread release its resources by itself when it ends. Call at most once, instead of ``join()``.
    package func detach() {
        _ = pthread_detach(handle)
    }

    /// `name` cut to the 15 bytes Linux allows, at a character boundary (never inside a UTF-8 sequence).
    package static func threadName(_ name: String) -> String {
        var result = ""
        for character in name {
            if result.utf8.count + character.utf8.count > 15 { break }
            result.append(character)
        }
        return result
    }
}
