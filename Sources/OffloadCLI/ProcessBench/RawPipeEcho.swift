import Offload

#if canImport(Glibc)
    import Glibc
#endif

/// The baseline of the round-trip benchmark: a relaunched copy of `offload` that echoes fixed-size messages over
/// stdin/stdout pipes — the cheapest possible parent → child → parent exchange, measured in the same run as the
/// pool's round trip.
enum RawPipeEcho {
    static let environmentKey = "OFFLOAD_BENCH_RAW_ECHO"
    static let messageSize = 32

    /// In the echo child: echo until end of input, then exit. Returns at once in any other process.
    static func runIfRequested() {
        guard getenv(environmentKey) != nil else { return }
        var buffer = [UInt8](repeating: 0, count: messageSize)
        while readFully(0, &buffer), writeFully(1, buffer) {}
        exit(0)
    }

    /// Median round trip, in seconds, over `count` exchanges (after a warm-up) with a freshly spawned echo child.
    static func measure(count: Int) throws -> Double {
        var toChild: [Int32] = [-1, -1]
        var fromChild: [Int32] = [-1, -1]
        // pipe + FD_CLOEXEC (not pipe2, which Glibc does not export to Swift): safe here because the bench measures
        // this before any pool exists, so no other thread can spawn a process in between.
        guard pipe(&toChild) == 0, pipe(&fromChild) == 0 else {
            throw OffloadError(.systemCallFailed, "pipe failed", underlyingErrno: errno)
        }
        for fd in toChild + fromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        var environment: [UnsafeMutablePointer<CChar>?] = [strdup("\(environmentKey)=1"), nil]
        var arguments: [UnsafeMutablePointer<CChar>?] = [strdup("offload-echo"), nil]
        defer {
            for pointer in environment + arguments { free(pointer) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/proc/self/exe", &actions, nil, &arguments, &environment)
        close(toChild[0])
        close(fromChild[1])
        guard rc == 0 else { throw OffloadError(.spawnFailed, "could not start the echo child", underlyingErrno: rc) }
        defer {
            close(toChild[1])
            close(fromChild[0])
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        var message = [UInt8](repeating: 1, count: messageSize)
        var samples: [Double] = []
        samples.reserveCapacity(count)
        for iteration in 0..<(count + count / 10) {
            let start = ContinuousClock.now
            guard writeFully(toChild[1], message), readFully(fromChild[0], &message) else {
                throw OffloadError(.workerCrashed, "the echo child stopped answering")
            }
            if iteration >= count / 10 { samples.append((ContinuousClock.now - start).seconds) }
        }
        return Measurement.median(samples)
    }

    private static func readFully(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
        var offset = 0
        let size = buffer.count
        while offset < size {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + offset, size - offset) }
            if count <= 0 {
                if count < 0, errno == EINTR { continue }
                return false
            }
            offset += count
        }
        return true
    }

    private static func writeFully(_ fd: Int32, _ buffer: [UInt8]) -> Bool {
        var offset = 0
        while offset < buffer.count {
            let count = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + offset, buffer.count - offset) }
            if count <= 0 {
                if count < 0, errno == EINTR { continue }
                return false
            }
            offset += count
        }
        return true
    }
}
