import OffloadSystem

/// Launches one worker process with `posix_spawn` (never `fork` without `exec`: the parent is multi-threaded).
///
/// The child gets exactly six descriptors (see `coffload_spawn_worker`):
/// 0 = /dev/null, 1 = the parent's stdout, 2 = a pipe the manager reads (last lines kept for error reports),
/// 3 = the command pipe's read end, 4 = the result pipe's write end, 5 = the progress journal (``WorkerJournal``).
/// All pipes are created with `pipe2(O_CLOEXEC)`, so concurrent spawns on other threads never inherit them, and
/// everything from 6 up is closed in the child.
enum WorkerSpawner {
    static func spawn(
        configuration: ProcessPool.Configuration,
        executable: String,
        generation: Int
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
            let (journal, journalFD) = try systemCall { () throws(SystemCallError) in try WorkerJournal.create() }
            opened.append(journalFD)
            // The parent's ends are non-blocking (the manager polls them); the child's ends stay blocking.
            Syscalls.setNonBlocking(command.write, true)
            Syscalls.setNonBlocking(result.read, true)
            Syscalls.setNonBlocking(stderr.read, true)
            let name =
                executable == "/proc/self/exe" ? Syscalls.currentExecutablePath() ?? "offload-worker" : executable
            var request = Syscalls.SpawnRequest(
                executable: executable,
                arguments: [name] + configuration.arguments,
                environment: WorkerEnvironment.build(
                    configuration,
                    inherited: Syscalls.environment(),
                    parentPID: Syscalls.processID
                ),
                workingDirectory: configuration.workingDirectory,
                stderrFD: stderr.write,
                commandFD: command.read,
                resultFD: result.write
            )
            request.journalFD = journalFD
            let pid: Int32
            do throws(SystemCallError) {
                pid = try Syscalls.spawn(request)
            } catch {
                throw OffloadError.spawnFailed(executable, errno: error.errno)
            }
            for fd in [command.read, result.write, stderr.write, journalFD] { Syscalls.close(fd) }
            return WorkerHandles(
                generation: generation,
                pid: pid,
                pidfd: Syscalls.pidfdOpen(pid),
                commandFD: command.write,
                resultFD: result.read,
                stderrFD: stderr.read,
                journal: journal
            )
        } catch {
            for fd in opened { Syscalls.close(fd) }
            throw error
        }
    }
}
