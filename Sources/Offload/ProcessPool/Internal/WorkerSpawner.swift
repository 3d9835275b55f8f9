import COffloadShims
import Glibc
import OffloadSystem

/// Launches one worker process with `posix_spawn` (never `fork` without `exec`: the parent is multi-threaded).
///
/// The child gets exactly five descriptors (see `coffload_spawn_worker`):
/// 0 = /dev/null, 1 = the parent's stdout, 2 = a pipe the manager reads (last lines kept for error reports),
/// 3 = the command pipe's read end, 4 = the result pipe's write end. All pipes are created with `pipe2(O_CLOEXEC)`,
/// so concurrent spawns on other threads never inherit them, and everything from 5 up is closed in the child.
enum WorkerSpawner {
    struct Spawned {
        var pid: pid_t
        var pidfd: Int32
        var commandFD: Int32
        var resultFD: Int32
        var stderrFD: Int32
    }

    static func spawn(configuration: ProcessPool.Configuration, executable: String) throws(OffloadError) -> Spawned {
        Signals.ignoreSIGPIPE()
        let command = try systemCall { () throws(SystemCallError) in try Syscalls.pipe(nonBlocking: false) }
        let result: (read: Int32, write: Int32)
        let stderr: (read: Int32, write: Int32)
        do {
            result = try systemCall { () throws(SystemCallError) in try Syscalls.pipe(nonBlocking: false) }
        } catch {
            closeAll([command.read, command.write])
            throw error
        }
        do {
            stderr = try systemCall { () throws(SystemCallError) in try Syscalls.pipe(nonBlocking: false) }
        } catch {
            closeAll([command.read, command.write, result.read, result.write])
            throw error
        }
        // The parent's ends are non-blocking (the manager polls them); the child's ends stay blocking.
        Syscalls.setNonBlocking(command.write, true)
        Syscalls.setNonBlocking(result.read, true)
        Syscalls.setNonBlocking(stderr.read, true)

        let arguments =
            [executable == "/proc/self/exe" ? currentExecutableName() : executable]
            + configuration.arguments
        let environment = workerEnvironment(configuration)
        var pid: pid_t = 0
        let rc = withCStrings(arguments) { argv in
            withCStrings(environment) { envp in
                withOptionalCString(configuration.workingDirectory) { cwd in
                    coffload_spawn_worker(
                        executable,
                        argv,
                        envp,
                        cwd,
                        -1,
                        stderr.write,
                        command.read,
                        result.write,
                        &pid
                    )
                }
            }
        }
        closeAll([command.read, result.write, stderr.write])
        guard rc == 0 else {
            closeAll([command.write, result.read, stderr.read])
            throw OffloadError.spawnFailed(executable, errno: rc)
        }
        let pidfd = Syscalls.pidfdOpen(pid)
        return Spawned(pid: pid, pidfd: pidfd, commandFD: command.write, resultFD: result.read, stderrFD: stderr.read)
    }

    private static func closeAll(_ fds: [Int32]) {
        for fd in fds { Syscalls.close(fd) }
    }

    /// `KEY=value` strings: the configured or inherited environment without stale worker keys, plus this worker's.
    static func workerEnvironment(_ configuration: ProcessPool.Configuration) -> [String] {
        var pairs: [String] = []
        if let environment = configuration.environment {
            pairs = environment.map { "\($0.key)=\($0.value)" }.sorted()
        } else {
            var cursor = environ
            while let entry = cursor.pointee {
                pairs.append(String(cString: entry))
                cursor += 1
            }
        }
        pairs.removeAll { $0.hasPrefix("OFFLOAD_WORKER_") }
        pairs.append("\(WorkerEnvironment.parentKey)=\(getpid())")
        pairs.append("\(WorkerEnvironment.maxFrameKey)=\(configuration.maxFramePayload)")
        if let initializer = configuration.initializer {
            pairs.append("\(WorkerEnvironment.initializerKey)=\(initializer)")
        }
        if let argument = configuration.initializerArgument {
            pairs.append("\(WorkerEnvironment.initializerArgumentKey)=\(argument)")
        }
        return pairs
    }

    private static func currentExecutableName() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return "offload-worker" }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
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
