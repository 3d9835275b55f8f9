import OffloadSystem

/// Launches one worker process with `posix_spawn` (never `fork` without `exec`: the parent is multi-threaded).
///
/// The child gets exactly six descriptors (see `coffload_spawn_worker`):
/// 0 = /dev/null, 1 = the parent's stdout, 2 = a pipe the manager reads (last lines kept for error reports),
/// 3 = the command pipe's read end, 4 = the result pipe's write end, 5 = the progress journal (``WorkerJournal``),
/// followed in the same memory file by the shared-memory rings when the worker uses them (``SharedTransport``).
/// All pipes are created with `pipe2(O_CLOEXEC)`, so concurrent spawns on other threads never inherit them, and
/// everything from 6 up is closed in the child.
///
/// With ``ProcessPool/StartMethod/forkServer`` the same descriptors are handed to the pool's fork server instead,
/// which forks a worker that gets them at the same numbers (``ForkServer``); when it cannot, the worker is spawned.
enum WorkerSpawner {
    static func spawn(
        configuration: ProcessPool.Configuration,
        executable: String,
        generation: Int,
        workerSpin: UInt64 = 0,
        forkServer: ForkServerClient? = nil
    ) throws(OffloadError) -> WorkerHandles {
        Signals.ignoreSIGPIPE()
        var opened: [Int32] = []
        func pipe() throws(OffloadError) -> (read: Int32, write: Int32) {
            let ends = try systemCall { () throws(SystemCallError) in try Syscalls.pipe(nonBlocking: false) }
            opened += [ends.read, ends.write]
            return ends
        }
        do throws(OffloadError) {
            let command = try pipe()
            let result = try pipe()
            let stderr = try pipe()
            // With the shared-memory transport the rings follow the journal in the same memory file; if that file
            // cannot be created, this worker falls back to pipes.
            let ringBytes = configuration.sharedMemoryRingBytes
            let journal: WorkerJournal
            let journalFD: Int32
            if configuration.usesSharedMemory,
                let created = try? WorkerJournal.create(extraBytes: SharedTransport.byteCount(ringCapacity: ringBytes))
            {
                (journal, journalFD) = created
            } else {
                (journal, journalFD) = try systemCall { () throws(SystemCallError) in try WorkerJournal.create() }
            }
            opened.append(journalFD)
            var transport: SharedTransport?
            if journal.mapping.byteCount > WorkerJournal.byteCount {
                let rings = SharedTransport(
                    mapping: journal.mapping,
                    offset: WorkerJournal.byteCount,
                    ringCapacity: ringBytes,
                    workerSpin: workerSpin
                )
                rings.commands.format()
                rings.replies.format()
                transport = rings
            }
            // The parent's ends are non-blocking (the manager polls them); the child's ends stay blocking.
            Syscalls.setNonBlocking(command.write, true)
            Syscalls.setNonBlocking(result.read, true)
            Syscalls.setNonBlocking(stderr.read, true)
            // Through the fork server when the pool has one and it can fork; otherwise a new run of the executable.
            let pid: Int32
            if let forkServer,
                let forked = forkServer.fork(
                    configuration: configuration,
                    executable: executable,
                    stderr: stderr.write,
                    command: command.read,
                    result: result.write,
                    journal: journalFD,
                    transport: transport?.environmentValue
                )
            {
                pid = forked
            } else {
                var request = spawnRequest(
                    configuration,
                    executable,
                    environment: transport.map { ["\(SharedTransport.environmentKey)=\($0.environmentValue)"] } ?? [],
                    stderr: stderr.write,
                    command: command.read,
                    result: result.write
                )
                request.journalFD = journalFD
                do throws(SystemCallError) {
                    pid = try Syscalls.spawn(request)
                } catch {
                    throw OffloadError.spawnFailed(executable, errno: error.errno)
                }
            }
            for fd in [command.read, result.write, stderr.write, journalFD] { Syscalls.close(fd) }
            return WorkerHandles(
                generation: generation,
                pid: pid,
                pidfd: Syscalls.pidfdOpen(pid),
                commandFD: command.write,
                resultFD: result.read,
                stderrFD: stderr.read,
                journal: journal,
                transport: transport,
                replyState: transport.map { _ in RingReplyState(maxPayload: configuration.maxFramePayload) }
            )
        } catch {
            for fd in opened { Syscalls.close(fd) }
            throw error
        }
    }

    /// `argv[0]` of a worker or fork server.
    /// A run of `executable` as the pool's workers (and its fork server) are started: the configured arguments and
    /// directory, the workers' environment plus `extra`, and the three descriptors.
    private static func spawnRequest(
        _ configuration: ProcessPool.Configuration,
        _ executable: String,
        environment extra: [String],
        stderr: Int32,
        command: Int32,
        result: Int32
    ) -> Syscalls.SpawnRequest {
        Syscalls.SpawnRequest(
            executable: executable,
            arguments: [programName(executable)] + configuration.arguments,
            environment: WorkerEnvironment.build(
                configuration,
                inherited: Syscalls.environment(),
                parentPID: Syscalls.processID
            ) + extra,
            workingDirectory: configuration.workingDirectory,
            stderrFD: stderr,
            commandFD: command,
            resultFD: result
        )
    }

    private static func programName(_ executable: String) -> String {
        executable == "/proc/self/exe" ? Syscalls.currentExecutablePath() ?? "offload-worker" : executable
    }

    /// Starts the fork server (``ForkServer``): the executable with the workers' environment plus
    /// ``ForkServer/roleKey``, the pool's standard error as its descriptor 2 and `socket` as descriptors 3 and 4.
    static func spawnForkServer(
        configuration: ProcessPool.Configuration,
        executable: String,
        socket: Int32
    ) throws(OffloadError) -> Int32 {
        Signals.ignoreSIGPIPE()
        let request = spawnRequest(
            configuration,
            executable,
            environment: ["\(ForkServer.roleKey)=1"],
            stderr: 2,
            command: socket,
            result: socket
        )
        do throws(SystemCallError) {
            return try Syscalls.spawn(request)
        } catch {
            throw OffloadError.spawnFailed(executable, errno: error.errno)
        }
    }
}
