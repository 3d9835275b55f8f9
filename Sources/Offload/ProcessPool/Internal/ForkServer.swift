import OffloadSystem
import Synchronization

/// The fork server's side (``ProcessPool/StartMethod/forkServer``): a run of the executable started by the pool with
/// ``roleKey`` in its environment and one end of a `SOCK_SEQPACKET` pair as descriptors 3 and 4. It never returns:
/// it waits for requests, each carrying the new worker's four descriptors (stderr, commands, results, journal), the
/// write end of a pipe the worker first writes its PID to, and its transport setting; forks with
/// `clone(CLONE_PARENT)`, and replies with the worker's PID.
///
/// The PID pipe is how the pool learns of every worker the server forked, even one whose reply never comes (the
/// server died or stalled between the fork and the reply): the pool reads the PID from it and keeps that worker,
/// instead of starting a second process on the same descriptors next to a child it does not know.
///
/// Invariants of this code path, which runs in the server's one thread: it creates no thread and holds no lock when
/// it forks. A forked worker runs its loop on a fresh thread, so nothing cached in the server's main thread's
/// thread-local storage (Swift's per-thread id of `Synchronization.Mutex`) reaches the thread that runs jobs.
enum ForkServer {
    /// Marks the fork-server role (with descriptor 3 a socket). Named like the worker keys, so that a pool started
    /// inside a worker never passes it on.
    static let roleKey = "OFFLOAD_WORKER_FORK_SERVER"
    static let socketFD: Int32 = 3
    /// Descriptors per request: stderr, command, result, journal, the PID pipe's write end.
    static let descriptorsPerRequest = 5
    /// Test hook (the fixture's `--fork-server-dies-after-clone`): the server kills itself with SIGKILL right after
    /// its next fork, before replying.
    package static let dieAfterNextClone = Atomic<Bool>(false)
    /// Test hook (the fixture's `--forked-worker-announces-late=<fifo>`): a forked worker first waits until the pool
    /// no longer reads its PID pipe, then writes its PID in decimal to this FIFO, then announces itself as usual.
    package static let lateAnnouncementFIFO = Mutex<String?>(nil)
    /// Exit status of a server whose set-up failed (and of a forked worker that could not announce itself).
    static let setupFailedStatus: Int32 = 71

    /// What a reply's first word says.
    enum ReplyCode: Int32 {
        /// Forked: the second word is the worker's PID.
        case forked = 0
        /// Refused: the server has more than one thread (second word: how many, or -1 if unknown).
        case multithreaded = 1
        /// `clone` failed (second word: errno).
        case cloneFailed = 2
        /// The request did not carry four descriptors.
        case badRequest = 3
    }

    static var isRequested: Bool {
        WorkerEnvironment.value(roleKey) != nil && Syscalls.isSocket(socketFD)
    }

    static func encodeReply(_ code: ReplyCode, _ value: Int32) -> [UInt8] {
        withUnsafeBytes(of: (code.rawValue.littleEndian, value.littleEndian)) { Array($0) }
    }

    static func decodeReply(_ bytes: [UInt8]) -> (ReplyCode, Int32)? {
        guard bytes.count == 8 else { return nil }
        func word(_ at: Int) -> Int32 {
            Int32(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: Int32.self) })
        }
        guard let code = ReplyCode(rawValue: word(0)) else { return nil }
        return (code, word(4))
    }

    static func serve(registry: JobRegistry) -> Never {
        let parent = WorkerEnvironment.value(WorkerEnvironment.parentKey).flatMap { Int32($0) } ?? 0
        // The server dies with the pool's manager thread, like every worker (and sees EOF on its socket).
        Signals.dieWithParent(expectedParent: parent)
        // A forked worker writes its PID to a pipe the pool may have closed already (it had the reply): no SIGPIPE.
        // The worker's dispositions are reset before its loop starts.
        Signals.ignoreSIGPIPE()
        let socket: Int32
        do throws(SystemCallError) {
            // Off 3 and 4 (its two copies), above the worker descriptors; `installWorkerDescriptors` closes it.
            socket = try Syscalls.moveDescriptor(socketFD, atLeast: 10)
            Syscalls.close(WorkerEnvironment.resultFD)
        } catch {
            Syscalls.exitImmediately(setupFailedStatus)
        }
        while true {
            let request: (bytes: [UInt8], descriptors: [Int32])?
            do throws(SystemCallError) {
                request = try Syscalls.receive(socket, capacity: 512, maxDescriptors: descriptorsPerRequest)
            } catch {
                Syscalls.exitImmediately(0)
            }
            // End of file: the pool closed its end (shut down, or gone).
            guard let request else { Syscalls.exitImmediately(0) }
            let fds = request.descriptors
            func reply(_ code: ReplyCode, _ value: Int32) {
                for fd in fds { Syscalls.close(fd) }
                if (try? Syscalls.send(socket, encodeReply(code, value), descriptors: [])) == nil {
                    Syscalls.exitImmediately(0)
                }
            }
            guard fds.count == descriptorsPerRequest else {
                reply(.badRequest, Int32(fds.count))
                continue
            }
            // The one condition under which a fork without exec is safe: this process has one thread.
            let threads = Syscalls.threadCount() ?? -1
            guard threads == 1 else {
                reply(.multithreaded, Int32(threads))
                continue
            }
            do throws(SystemCallError) {
                switch try Syscalls.cloneAsSibling() {
                case .child:
                    becomeWorker(registry: registry, descriptors: fds, transport: request.bytes)
                case .parent(let pid):
                    if dieAfterNextClone.exchange(false, ordering: .relaxed) { Syscalls.raiseSignal(Signals.kill) }
                    reply(.forked, pid)
                }
            } catch {
                reply(.cloneFailed, error.errno)
            }
        }
    }

    /// In the forked child: its PID goes to the pool through the PID pipe, the passed descriptors become 2–5 (the
    /// server's socket and everything else is closed), the transport setting of this worker replaces the server's,
    /// then the worker loop (which checks its parent is the pool and asks for SIGKILL when the pool's manager thread
    /// dies).
    private static func becomeWorker(registry: JobRegistry, descriptors fds: [Int32], transport: [UInt8]) -> Never {
        // First, before the descriptors move (the pipe may sit at a number 2–5 is about to take). Four bytes: one
        // atomic write, read whole or not at all. If it fails (EPIPE: the pool closed the read end), the pool has
        // neither the reply nor this PID and starts another worker on these descriptors: this one must not serve.
        if let fifo = lateAnnouncementFIFO.withLock({ $0 }) {
            var noReader = [Syscalls.PollEntry(fd: fds[4], readable: false)]
            Syscalls.poll(&noReader, timeoutMilliseconds: -1)
            Syscalls.writeToPath(fifo, "\(Syscalls.processID)\n")
        }
        var pid = Syscalls.processID.littleEndian
        let announced = withUnsafeBytes(of: &pid) { Syscalls.write(fds[4], $0) }
        guard case .transferred(MemoryLayout<Int32>.size) = announced else {
            Syscalls.exitImmediately(setupFailedStatus)
        }
        Syscalls.close(fds[4])
        do throws(SystemCallError) {
            try Syscalls.installWorkerDescriptors(stderr: fds[0], command: fds[1], result: fds[2], journal: fds[3])
        } catch {
            Syscalls.exitImmediately(setupFailedStatus)
        }
        let setting = String(decoding: transport, as: UTF8.self)
        Syscalls.setEnvironmentValue(SharedTransport.environmentKey, setting.isEmpty ? nil : setting)
        Syscalls.setEnvironmentValue(roleKey, nil)
        // The loop runs on a new thread: the forked main thread carries the server's thread-local state, such as
        // the thread id `Synchronization.Mutex` caches per thread (a lock it took before the fork would give a
        // contended Mutex the server's id as owner). The main thread only waits; the loop's `exit` ends both.
        do throws(SystemCallError) {
            try OSThread.spawn(name: "offload-worker") { WorkerLoop.run(registry: registry) }.join()
        } catch {
            WorkerLoop.run(registry: registry)
        }
        Syscalls.exitImmediately(0)
    }
}

/// The decisions about a pool's fork server, without effects (the ``ForkServerClient`` performs them): when to
/// start or restart it, when to give up on it and start workers with ``ProcessPool/StartMethod/spawn``.
struct ForkServerPolicy: Sendable, Equatable {
    /// Server starts allowed in a pool's life (the first, plus restarts after it died).
    static let maxStarts = 3

    enum Phase: Sendable, Equatable {
        case notStarted
        case running
        /// For good: every later worker is spawned.
        case disabled
    }

    var phase: Phase = .notStarted
    var starts = 0
    var workersForked = 0
    var fallbackReason: String?
    /// Whether the server now running has forked a worker: one that dies before its first fork is not restarted
    /// (it would die again: the program cannot be a fork server).
    var currentServerForked = false

    enum Decision: Equatable {
        /// Start a server, then ask it.
        case start
        /// Ask the running server.
        case ask
        /// Spawn this worker.
        case spawn
    }

    mutating func beforeStart() -> Decision {
        switch phase {
        case .disabled: return .spawn
        case .running: return .ask
        case .notStarted:
            guard starts < Self.maxStarts else {
                phase = .disabled
                return .spawn
            }
            starts += 1
            return .start
        }
    }

    mutating func started() {
        phase = .running
        currentServerForked = false
    }

    mutating func forked() {
        workersForked += 1
        currentServerForked = true
    }

    /// The server died: this worker is spawned, and the next start tries a new server (until ``maxStarts``) if this
    /// one had forked workers; one that died before its first fork is not tried again.
    mutating func serverLost(_ reason: String) {
        fallbackReason = reason
        phase = currentServerForked && starts < Self.maxStarts ? .notStarted : .disabled
    }

    /// The server cannot fork at all (more than one thread, `CLONE_PARENT` refused, could not be started): spawn
    /// from now on.
    mutating func refused(_ reason: String) {
        fallbackReason = reason
        phase = .disabled
    }
}

/// The pool's side of its fork server. Used by the manager thread only (it spawns every worker, and the server's
/// parent-death signal — like the workers' — is tied to the thread that started it); the lock only guards the
/// figures read by ``ProcessPool/startMethodStatus`` from other threads, and is never held across a system call.
final class ForkServerClient: Sendable {
    private struct Server: Sendable {
        let pid: Int32
        let pidfd: Int32
        let socket: Int32
    }

    private struct State: Sendable {
        var policy = ForkServerPolicy()
        var server: Server?
        /// Whether the running server has answered a request: it is past its program start-up, and each later reply
        /// is waited for at most ``ForkServerClient/replyTimeoutMilliseconds``.
        var serverAnswered = false
    }

    /// How long the manager waits for a fork reply from a server that has answered before. Answering is a
    /// `recvmsg`, a read of `/proc/self/task`, one `clone` of a small single-threaded process and a `sendmsg`:
    /// well under a millisecond, and a few tens of milliseconds on a loaded two-core machine where the server must
    /// wait for a CPU. Half a second is ten times that, so a server that is only slow is not taken for a stuck one,
    /// and it bounds what a stuck server (stopped with SIGSTOP, or starved) costs: the manager, which does all of
    /// the pool's work, waits this long once; then the server is killed and the worker spawned. (The first request
    /// to a new server also waits for the server's own start-up, so it is bounded by
    /// ``ProcessPool/Configuration/startTimeout``, as a spawned worker's start is.)
    static let replyTimeoutMilliseconds: Int32 = 500

    private let state = Mutex(State())

    init() {
        // ThreadSanitizer's runtime keeps per-thread state it rebuilds on `fork()` only: a worker cloned by the
        // server would run with the server's, and hang or crash inside the sanitizer. Spawn under it, and say why.
        if ThreadSanitizer.isActive {
            state.withLock(self) {
                $0.policy.refused("ThreadSanitizer cannot follow a worker cloned by the fork server; workers are spawned")
            }
        }
    }

    var status: ProcessPool.StartMethodStatus {
        state.withLock(self) { state in
            ProcessPool.StartMethodStatus(
                configured: .forkServer,
                current: state.policy.phase == .disabled ? .spawn : .forkServer,
                fallbackReason: state.policy.fallbackReason,
                workersForked: state.policy.workersForked,
                serverStarts: state.policy.starts
            )
        }
    }

    var serverPID: Int32? { state.withLock(self) { $0.server?.pid } }

    /// Asks the server for a worker with these descriptors (the caller keeps and closes its own copies). Returns the
    /// worker's PID — a child of this process — or `nil` when this worker must be spawned instead.
    func fork(
        configuration: ProcessPool.Configuration,
        executable: String,
        stderr: Int32,
        command: Int32,
        result: Int32,
        journal: Int32,
        transport: String?
    ) -> Int32? {
        let decision = state.withLock(self) { $0.policy.beforeStart() }
        if decision == .spawn { return nil }
        if decision == .start {
            do throws(OffloadError) {
                let server = try start(configuration: configuration, executable: executable)
                state.withLock(self) { state in
                    state.server = server
                    state.serverAnswered = false
                    state.policy.started()
                }
            } catch {
                state.withLock(self) { $0.policy.refused("the fork server could not be started: \(error)") }
                return nil
            }
        }
        guard let (server, answered) = state.withLock(self, { state in state.server.map { ($0, state.serverAnswered) } })
        else { return nil }
        let timeout = Int32(clamping: max(1, configuration.startTimeout.nanosecondsClamped / 1_000_000))
        guard let pidPipe = try? Syscalls.pipe(nonBlocking: false) else { return nil }
        defer { Syscalls.close(pidPipe.read) }
        let outcome = request(
            server,
            [stderr, command, result, journal, pidPipe.write],
            transport: transport,
            timeout: answered ? min(timeout, Self.replyTimeoutMilliseconds) : timeout,
            startingUp: !answered
        )
        // The server holds the write end now (or the request never left): this process keeps none, so the read end
        // sees the end of file once neither the server nor a worker it forked has it.
        Syscalls.close(pidPipe.write)
        switch outcome {
        case .forked(let pid):
            state.withLock(self) { state in
                state.serverAnswered = true
                state.policy.forked()
            }
            // The read end stays open until the worker has announced itself (its first action after the fork), or
            // died: a worker whose announcement fails exits instead of serving (see `becomeWorker`), so closing it
            // earlier would kill a worker the pool knows.
            _ = Self.announcedPID(pidPipe.read, timeout: timeout)
            return pid
        case .lost(let reason):
            stopServer { $0.policy.serverLost(reason) }
        case .refused(let reason):
            stopServer { $0.policy.refused(reason) }
        }
        // No reply, and the server is gone: if it forked before it died (or while it kept us waiting), that worker
        // exists, with these descriptors, and is this process's child. It is kept: spawning another on the same
        // descriptors would leave it running unknown to the pool.
        //
        // The end of file without a PID means no process has these descriptors: the server's copy of the write end
        // closed when it died, and a worker's copy closes only after its announcement or with its death — a worker
        // killed before announcing itself is dead, never read a command (none is written before this returns) and
        // never touched the journal or the rings, so the worker spawned on the same descriptors is alone on them and
        // no task is lost. (That dead worker stays a zombie child of this process, its PID unknown to the pool.)
        // The wait is bounded by `startTimeout` only for a worker stuck between the fork and its first write; if it
        // writes after the read end is closed, its write fails and it exits without serving.
        guard let pid = Self.announcedPID(pidPipe.read, timeout: timeout) else { return nil }
        state.withLock(self) { $0.policy.workersForked += 1 }
        return pid
    }

    /// The PID a worker forked for this request wrote to its PID pipe; `nil` at the end of file (with the server
    /// gone: nothing was forked, or the worker died before announcing itself) or after `timeout` milliseconds.
    private static func announcedPID(_ pidPipe: Int32, timeout: Int32) -> Int32? {
        var entries = [Syscalls.PollEntry(fd: pidPipe)]
        Syscalls.poll(&entries, timeoutMilliseconds: timeout)
        guard entries[0].ready else { return nil }
        var pid: Int32 = 0
        let outcome = withUnsafeMutableBytes(of: &pid) { Syscalls.read(pidPipe, into: $0) }
        guard case .transferred(let count) = outcome, count == MemoryLayout<Int32>.size else { return nil }
        let forked = Int32(littleEndian: pid)
        return forked > 0 ? forked : nil
    }

    /// Stops the server (closing its socket is enough; SIGKILL makes it certain) and reaps it. Idempotent.
    func stop() {
        stopServer { _ in }
    }

    private func stopServer(_ update: (inout State) -> Void) {
        let server = state.withLock(self) { state -> Server? in
            update(&state)
            defer { state.server = nil }
            return state.server
        }
        guard let server else { return }
        Syscalls.close(server.socket)
        Syscalls.signal(pid: server.pid, pidfd: server.pidfd, Signals.kill)
        _ = Syscalls.reap(pid: server.pid, pidfd: server.pidfd, noHang: false)
        Syscalls.close(server.pidfd)
    }

    private enum Outcome {
        case forked(Int32)
        case lost(String)
        case refused(String)
    }

    private func request(
        _ server: Server,
        _ fds: [Int32],
        transport: String?,
        timeout: Int32,
        startingUp: Bool
    ) -> Outcome {
        do throws(SystemCallError) {
            try Syscalls.send(server.socket, Array((transport ?? "").utf8), descriptors: fds)
        } catch {
            return .lost("the fork server stopped taking requests (\(error))")
        }
        // The reply, or the server's exit, whichever comes first (the first reply also waits for its start-up).
        var entries = [Syscalls.PollEntry(fd: server.socket), Syscalls.PollEntry(fd: server.pidfd)]
        Syscalls.poll(&entries, timeoutMilliseconds: timeout)
        if !entries[0].ready {
            if entries[1].ready { return .lost("the fork server exited") }
            // Stuck (stopped, starved) or never started: the caller kills it, and it counts as lost — restarted if
            // it had forked workers (each wait holds the manager, so never twice for one server).
            return .lost(
                startingUp
                    ? "the fork server did not start within startTimeout (\(timeout) ms); it was killed"
                    : "the fork server did not answer a fork request within \(timeout) ms; it was killed"
            )
        }
        let reply: (bytes: [UInt8], descriptors: [Int32])?
        do throws(SystemCallError) {
            reply = try Syscalls.receive(server.socket, capacity: 16, maxDescriptors: 0)
        } catch {
            return .lost("the fork server's reply could not be read (\(error))")
        }
        guard let reply else { return .lost("the fork server exited") }
        guard let (code, value) = ForkServer.decodeReply(reply.bytes) else {
            // Bytes the server did not send as a reply (the program wrote to descriptor 3 or 4 before the entry
            // point): it cannot be trusted; it is killed like a lost one.
            return .lost("the fork server sent \(reply.bytes.count) bytes that are not a reply; it was killed")
        }
        switch code {
        case .forked: return .forked(value)
        case .multithreaded:
            return .refused(
                "the fork server has \(value < 0 ? "an unknown number of" : "\(value)") threads, not one: "
                    + "ProcessPool.runWorkerIfRequested(registry:) must run before the program starts a thread"
            )
        case .cloneFailed:
            return .refused("clone(CLONE_PARENT) failed: \(Syscalls.errnoDescription(value)) (errno \(value))")
        case .badRequest:
            return .lost("the fork server received a request with \(value) descriptors")
        }
    }

    private func start(configuration: ProcessPool.Configuration, executable: String) throws(OffloadError) -> Server {
        let (mine, theirs) = try systemCall { () throws(SystemCallError) in try Syscalls.seqpacketPair() }
        defer { Syscalls.close(theirs) }
        do throws(OffloadError) {
            let pid = try WorkerSpawner.spawnForkServer(configuration: configuration, executable: executable, socket: theirs)
            let pidfd = Syscalls.pidfdOpen(pid)
            guard pidfd >= 0 else {
                Syscalls.signal(pid: pid, pidfd: -1, Signals.kill)
                _ = Syscalls.reap(pid: pid, pidfd: -1, noHang: false)
                throw OffloadError(.systemCallFailed, "pidfd_open of the fork server failed")
            }
            return Server(pid: pid, pidfd: pidfd, socket: mine)
        } catch {
            Syscalls.close(mine)
            throw error
        }
    }
}
