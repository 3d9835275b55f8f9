import COffloadShims
import Glibc

/// How a child process ended, as `waitid` reports it.
package enum ChildExit: Sendable, Equatable {
    /// `exit(status)` or a return from `main`.
    case exited(Int32)
    /// Killed by this signal.
    case signaled(Int32)
}

extension Syscalls {
    /// The descriptors and arguments of one worker spawn (see `coffload_spawn_worker`).
    package struct SpawnRequest {
        package var executable: String
        package var arguments: [String]
        package var environment: [String]
        package var workingDirectory: String?
        package var stderrFD: Int32
        package var commandFD: Int32
        package var resultFD: Int32
        /// Becomes the child's descriptor 5 (the worker's progress journal); -1 for none.
        package var journalFD: Int32 = -1

        package init(
            executable: String,
            arguments: [String],
            environment: [String],
            workingDirectory: String?,
            stderrFD: Int32,
            commandFD: Int32,
            resultFD: Int32
        ) {
            self.executable = executable
            self.arguments = arguments
            self.environment = environment
            self.workingDirectory = workingDirectory
            self.stderrFD = stderrFD
            self.commandFD = commandFD
            self.resultFD = resultFD
        }
    }

    /// `posix_spawn` with exactly descriptors 0–4 (see `coffload_spawn_worker`). Returns the child's PID.
    package static func spawn(_ request: SpawnRequest) throws(SystemCallError) -> pid_t {
        var pid: pid_t = 0
        let rc = withCStrings(request.arguments) { argv in
            withCStrings(request.environment) { envp in
                withOptionalCString(request.workingDirectory) { cwd in
                    coffload_spawn_worker(
                        request.executable,
                        argv,
                        envp,
                        cwd,
                        -1,
                        request.stderrFD,
                        request.commandFD,
                        request.resultFD,
                        request.journalFD,
                        &pid
                    )
                }
            }
        }
        guard rc == 0 else { throw SystemCallError("posix_spawn", errno: rc) }
        return pid
    }

    /// An anonymous shared-memory file (`memfd_create`, close-on-exec) of `byteCount` bytes, allocated as touched.
    package static func memoryFile(name: String, byteCount: Int) throws(SystemCallError) -> Int32 {
        let fd = coffload_memfd(name, Int64(byteCount))
        guard fd >= 0 else { throw SystemCallError("memfd_create", errno: errno) }
        return fd
    }

    /// `kill(pid, 0)`: whether a process with this ID exists (a zombie counts).
    package static func processExists(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno != ESRCH
    }

    /// Writes `text` to standard error, unbuffered.
    package static func writeToStandardError(_ text: String) {
        var text = text
        text.withUTF8 { _ = writeAll(2, UnsafeRawBufferPointer($0)) }
    }

    /// A pidfd for `pid` (readable when it exits), or -1 on kernels without `pidfd_open`.
    package static func pidfdOpen(_ pid: pid_t) -> Int32 {
        coffload_pidfd_open(pid)
    }

    /// Signals a child: through its pidfd when there is one (immune to PID reuse), else by PID.
    package static func signal(pid: pid_t, pidfd: Int32, _ signal: Int32) {
        if pidfd >= 0, coffload_pidfd_send_signal(pidfd, signal) == 0 { return }
        _ = kill(pid, signal)
    }

    /// Sends `signal` to this process (tests and fault injection).
    package static func raiseSignal(_ signal: Int32) {
        _ = kill(getpid(), signal)
    }

    /// Reaps a child. Returns how it ended, or `nil` if `noHang` and it is still running.
    package static func reap(pid: pid_t, pidfd: Int32, noHang: Bool) -> ChildExit? {
        var reaped: Int32 = 0
        var exited: Int32 = 0
        var status: Int32 = 0
        if pidfd >= 0,
            retryingOnInterrupt({
                RawSyscalls.waitPIDFD(pidfd, noHang: noHang, reaped: &reaped, exited: &exited, status: &status)
            }).0 == 0
        {
            guard reaped != 0 else { return nil }
            return exited != 0 ? .exited(status) : .signaled(status)
        }
        let (rc, _) = retryingOnInterrupt { RawSyscalls.waitPID(pid, noHang: noHang, exited: &exited, status: &status) }
        guard rc > 0 else { return rc == 0 ? nil : .exited(-1) }
        return exited != 0 ? .exited(status) : .signaled(status)
    }

    /// `access(path, X_OK)`: `nil` when `path` is executable, else the `errno`.
    package static func executableError(_ path: String) -> Int32? {
        access(path, X_OK) == 0 ? nil : errno
    }

    /// This process's ID.
    package static var processID: pid_t { getpid() }

    /// The parent's process ID.
    package static var parentProcessID: pid_t { getppid() }

    /// Ends the process at once, without running `atexit` handlers or flushing stdio.
    package static func exitImmediately(_ status: Int32) -> Never { _exit(status) }

    /// Ends the process normally.
    package static func exitProcess(_ status: Int32) -> Never { exit(status) }

    /// The path of the running executable (`/proc/self/exe` resolved), or `nil`.
    package static func currentExecutablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The process environment as `KEY=value` strings.
    package static func environment() -> [String] {
        var pairs: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            pairs.append(String(cString: entry))
            cursor += 1
        }
        return pairs
    }

    /// `getenv`.
    package static func environmentValue(_ key: String) -> String? {
        guard let raw = getenv(key) else { return nil }
        return String(cString: raw)
    }

    /// `unsetenv`.
    package static func removeEnvironmentValue(_ key: String) {
        unsetenv(key)
    }

    /// `/proc/<pid>/status` `VmRSS` in bytes, or `nil` when the process is gone.
    package static func residentBytes(of pid: pid_t) -> Int? {
        let fd = open("/proc/\(pid)/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        let text = String(decoding: bytes[..<count], as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let digits = line.dropFirst(6).filter { $0.isNumber }
            return Int(digits).map { $0 * 1024 }
        }
        return nil
    }

    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return body(pointers)
    }

    private static func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
        guard let string else { return body(nil) }
        return string.withCString { body($0) }
    }
}
