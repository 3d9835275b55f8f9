import Offload
import OffloadSystem

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
        guard let value = getenv(environmentKey) else { return }
        // The value is the CPU to pin to, or -1 for none.
        if let cpu = Int(String(cString: value)), cpu >= 0 { CPUAffinity.pinCurrentThread(to: cpu) }
        var buffer = [UInt8](repeating: 0, count: messageSize)
        while readFully(0, &buffer), writeFully(1, buffer) {}
        exit(0)
    }

    /// A running echo child (a relaunched copy of `offload`), so that raw and pool round trips can be measured in
    /// alternating blocks under the same machine load.
    final class Child: Sendable {
        private let pid: pid_t
        private let toChild: Int32
        private let fromChild: Int32

        /// Starts an echo child, pinned to `cpu` when given.
        init(cpu: Int?) throws {
            var toChild: [Int32] = [-1, -1]
            var fromChild: [Int32] = [-1, -1]
            // pipe + FD_CLOEXEC (not pipe2, which Glibc does not export to Swift): the bench starts the echo child
            // before any pool of this section exists, so no other thread spawns a process in between.
            guard pipe(&toChild) == 0, pipe(&fromChild) == 0 else {
                throw CLIError("pipe failed (errno \(errno))")
            }
            for fd in toChild + fromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
            posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
            var environment: [UnsafeMutablePointer<CChar>?] = [strdup("\(RawPipeEcho.environmentKey)=\(cpu ?? -1)"), nil]
            var arguments: [UnsafeMutablePointer<CChar>?] = [strdup("offload-echo"), nil]
            defer {
                for pointer in environment + arguments { free(pointer) }
            }
            var pid: pid_t = 0
            let rc = posix_spawn(&pid, "/proc/self/exe", &actions, nil, &arguments, &environment)
            close(toChild[0])
            close(fromChild[1])
            guard rc == 0 else {
                close(toChild[1])
                close(fromChild[0])
                throw CLIError("could not start the echo child (posix_spawn error \(rc))")
            }
            self.pid = pid
            self.toChild = toChild[1]
            self.fromChild = fromChild[0]
        }

        /// Seconds from `posix_spawn` of a fresh echo child to its first echo: what starting this executable costs
        /// before `main` can serve (dynamic linking, runtime initialisation), the floor of a worker's start-up.
        static func startupSeconds() throws -> Double {
            let start = ContinuousClock.now
            let child = try Child(cpu: nil)
            _ = try child.roundTrips(1)
            return (ContinuousClock.now - start).seconds
        }

        /// `count` round trips (one at a time: a caller must not run two at once on the same child) with the calling
        /// thread pinned to `cpu` (released afterwards); returns each one's
        /// duration in seconds.
        func roundTrips(_ count: Int, pinnedTo cpu: Int? = nil) throws -> [Double] {
            if let cpu { CPUAffinity.pinCurrentThread(to: cpu) }
            defer { if cpu != nil { CPUAffinity.pinCurrentThread(to: nil) } }
            var message = [UInt8](repeating: 1, count: RawPipeEcho.messageSize)
            var samples: [Double] = []
            samples.reserveCapacity(count)
            for _ in 0..<count {
                let start = ContinuousClock.now
                guard RawPipeEcho.writeFully(toChild, message), RawPipeEcho.readFully(fromChild, &message) else {
                    throw CLIError("the echo child stopped answering")
                }
                samples.append((ContinuousClock.now - start).seconds)
            }
            return samples
        }

        deinit {
            close(toChild)
            close(fromChild)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    fileprivate static func readFully(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
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

    fileprivate static func writeFully(_ fd: Int32, _ buffer: [UInt8]) -> Bool {
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
