import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `posix_spawn` + `waitpid` without Foundation's `Process` (whose termination monitoring can stall inside an async
/// test runner): output goes to a file, never a pipe, so a daemon that inherits descriptors cannot keep us waiting.
enum Spawn {
    /// Runs `argv` to completion; returns the exit status (or 128 + signal) and what it wrote to stdout and stderr.
    static func run(_ argv: [String], outputPath: String) throws -> (status: Int32, output: String) {
        let pid = try start(argv, stdoutPath: outputPath, stdin: .path("/dev/null"))
        let status = wait(pid)
        let output = readFile(outputPath)
        unlink(outputPath)
        return (status, output)
    }

    /// Where a started child's stdin comes from.
    enum Input {
        /// A file opened read-only.
        case path(String)
        /// A descriptor of ours, duplicated onto the child's 0 (the duplicate is not close-on-exec).
        case descriptor(Int32)
    }

    /// Starts `argv` with stdout and stderr appended to `stdoutPath`; returns its PID.
    /// - Parameters:
    ///   - stdin: the child's standard input.
    ///   - ownProcessGroup: start the child in a new process group (so that signals a terminal or a runner sends to
    ///     ours do not reach it), with every signal unblocked.
    static func start(
        _ argv: [String],
        stdoutPath: String,
        stdin: Input,
        ownProcessGroup: Bool = false
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        switch stdin {
        case .path(let path): posix_spawn_file_actions_addopen(&actions, 0, path, O_RDONLY, 0)
        case .descriptor(let fd): posix_spawn_file_actions_adddup2(&actions, fd, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else: descriptors this process opened without close-on-exec (there are some: sockets of the test
        // runner) would otherwise live on in the postmaster or a watchdog, keeping files, pipes and connections open
        // after we close them. glibc 2.34 and later close every descriptor from 3 up in the child itself, which no
        // other thread can race; before that, the list is taken now, so one opened concurrently can slip through,
        // and one closed concurrently makes its close fail in the child, which posix_spawn ignores (EBADF is
        // reported only for a descriptor out of range).
        if let closeFrom = Spawn.addCloseFrom {
            _ = closeFrom(&actions, 3)
        } else {
            for fd in openDescriptors() where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        if ownProcessGroup {
            var unblocked = sigset_t()
            sigemptyset(&unblocked)
            posix_spawnattr_setsigmask(&attributes, &unblocked)
            posix_spawnattr_setpgroup(&attributes, 0)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))
        }
        var pid: pid_t = 0
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        let result = cArguments.withUnsafeBufferPointer { buffer in
            posix_spawn(
                &pid, argv[0], &actions, &attributes, UnsafeMutablePointer(mutating: buffer.baseAddress!), environ
            )
        }
        guard result == 0 else {
            throw ScratchPostgresError(message: "could not start \(argv[0]): error \(result)")
        }
        return pid
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), looked up at run time so that the package
    /// still builds against older C libraries, whose headers lack it. The cast is sound: the symbol is that C
    /// function, `int (posix_spawn_file_actions_t *, int)` in `spawn.h`.
    static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        else { return nil }
        return unsafeBitCast(
            symbol,
            to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self
        )
    }()

    /// The descriptors open in this process, from `/proc/self/fd`.
    static func openDescriptors() -> [Int32] {
        guard let directory = opendir("/proc/self/fd") else { return [] }
        defer { closedir(directory) }
        var descriptors: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let fd = Int32(name) { descriptors.append(fd) }
        }
        return descriptors
    }

    /// Waits for `pid`; returns its exit status, or 128 + the signal that killed it.
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }

    static func readFile(_ path: String) -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A child process whose output goes to a file: started, signalled and reaped without Foundation's `Process`.
///
/// The child never outlives this process: a watchdog (a small `/bin/sh` process, see ``Watchdog``) sends it SIGKILL
/// when this process is gone, however it died (SIGKILL, a crash, `exit` without clean-up). SIGKILL, because it is the
/// one signal a stopped (SIGSTOP) child still acts on. The watchdog is dismissed once the child has exited, before the
/// child is reaped, so its PID cannot have been reused by then. A child still running when its `ScratchProcess` is
/// deinitialised is killed.
public final class ScratchProcess: Sendable {
    /// The child's PID.
    public let pid: Int32
    /// Where its stdout and stderr go.
    public let outputPath: String
    /// The exit status once reaped; the lock also orders every signal before the reap (no signal to a reused PID).
    private let exitStatus = Mutex<Int32?>(nil)
    private let watchdog: Watchdog

    /// Starts `argv` (`argv[0]` is a path).
    /// - Parameters:
    ///   - argv: the program and its arguments.
    ///   - outputPath: the file that receives its stdout and stderr.
    /// - Throws: ``ScratchPostgresError`` if it or its watchdog cannot be started.
    public init(_ argv: [String], outputPath: String) throws {
        self.outputPath = outputPath
        let pid = try Spawn.start(argv, stdoutPath: outputPath, stdin: .path("/dev/null"))
        do {
            // Between the spawn above and this one, a SIGKILL of this process would leave the child running: a window
            // of about a millisecond, which only the child's own cooperation could close.
            watchdog = try Watchdog(script: #"kill -KILL "$1" 2>/dev/null"#, arguments: ["\(pid)"])
        } catch {
            _ = Glibc.kill(pid, SIGKILL)
            _ = Spawn.wait(pid)
            throw error
        }
        self.pid = pid
    }

    deinit {
        kill()
    }

    /// The watchdog's PID (for the tests that check it acts).
    package var watchdogPID: Int32 { watchdog.pid }

    /// What the child wrote so far.
    public var output: String { Spawn.readFile(outputPath) }

    /// Sends a signal (nothing once the child has been reaped).
    /// - Parameter signal: the signal number.
    public func signal(_ signal: Int32) {
        exitStatus.withLock { stored in
            if stored == nil { _ = Glibc.kill(pid, signal) }
        }
    }

    /// The exit status (128 + signal when killed), or `nil` while running. Reaps the child.
    public var currentExitStatus: Int32? {
        exitStatus.withLock { stored in
            if let stored { return stored }
            guard Self.hasExited(pid, blocking: false) else { return nil }
            return reap(&stored)
        }
    }

    /// Whether the child is still running.
    public var isRunning: Bool { currentExitStatus == nil }

    /// Waits (polling every 10 ms) up to `timeout`; returns the exit status or `nil`.
    /// - Parameter timeout: the longest wait.
    public func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let status = currentExitStatus { return status }
            if ContinuousClock.now > deadline { return nil }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// SIGCONT + SIGKILL and reap, if not reaped yet.
    public func kill() {
        exitStatus.withLock { stored in
            guard stored == nil else { return }
            _ = Glibc.kill(pid, SIGCONT)
            _ = Glibc.kill(pid, SIGKILL)
            _ = Self.hasExited(pid, blocking: true)
            _ = reap(&stored)
        }
    }

    /// Dismisses the watchdog, then reaps the child (which has exited: the order keeps its PID ours until the
    /// watchdog can no longer signal it).
    private func reap(_ stored: inout Int32?) -> Int32 {
        watchdog.dismiss()
        let value = Spawn.wait(pid)
        stored = value
        return value
    }

    /// Whether `pid` (a child) has exited, leaving it unreaped (`WNOWAIT`). `true` also when it is no child of ours.
    private static func hasExited(_ pid: pid_t, blocking: Bool) -> Bool {
        var info = siginfo_t()
        while true {
            let result = waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT | (blocking ? 0 : WNOHANG))
            if result == 0 { return info._sifields._sigchld.si_pid == pid }
            if errno != EINTR { return true }
        }
    }
}
