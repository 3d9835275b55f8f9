import COffloadShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Starts a detached OS thread (pthread) running `body`: the process pool's manager. A dedicated thread, not a Swift
/// task, because it blocks in `poll` for as long as the pool lives.
enum ManagerThread {
    private final class Box {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(OffloadError) {
        let box = Unmanaged.passRetained(Box(name: String(name.utf8.prefix(15)) ?? "offload-manager", body: body))
        var thread = pthread_t()
        let rc = pthread_create(
            &thread,
            nil,
            { raw in
                // The retained box is released exactly once, here, by the thread it was created for.
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                _ = coffload_set_current_thread_name(box.name)
                box.body()
                return nil
            },
            box.toOpaque()
        )
        guard rc == 0 else {
            box.release()
            throw OffloadError.systemCall("pthread_create", errno: rc)
        }
        pthread_detach(thread)
    }
}
