import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A small `/bin/sh` process that runs a clean-up script when the process that started it is gone, however it went
/// (SIGKILL included): what keeps a scratch cluster or a fixture process from outliving its test process.
///
/// The link is a socket pair created close-on-exec in one call (`SOCK_CLOEXEC`: no concurrent `posix_spawn` can
/// inherit it in between). The watchdog's end becomes its stdin; the other end stays in this process alone, and
/// because it is close-on-exec, neither `pg_ctl`, the postmaster nor any other child we start holds a copy. The
/// watchdog blocks reading its stdin: end of file means every holder of our end is gone, i.e. this process exited or
/// was killed, or it called ``release()``. It then runs its script. A line `dismiss` (``dismiss()``) makes it exit
/// without running it.
///
/// Why not `PR_SET_PDEATHSIG`: the kernel clears it when a process changes credentials, and the server runs as the
/// `postgres` user (`runuser` switches user before it executes `pg_ctl`); the postmaster is started by `pg_ctl`, which
/// exits at once, so its parent is never us; and the signal fires when the *thread* that spawned the child exits,
/// which in Swift concurrency is any thread of the cooperative pool, one that may end while the test still runs.
///
/// Why `/bin/sh` rather than a mode of an executable of ours: this library serves the tests and `offload-postgres
/// bench`, which have no executable in common, and `/bin/sh`, `kill` and `rm` are on every Linux machine. The script
/// ignores SIGHUP, SIGINT, SIGQUIT and SIGTERM, and the watchdog runs in a process group of its own, so that a ^C or
/// ^\ in the terminal, or a runner's SIGTERM to the test's process group, kills the test but not its watchdog: the one
/// event it acts on is the loss of its owner.
final class Watchdog: Sendable {
    /// The watchdog's PID (a child of this process until ``release()`` or ``dismiss()`` reaps it).
    let pid: pid_t
    /// This process's end of the link; -1 once released.
    private let link: Mutex<Int32>

    /// Starts a watchdog.
    /// - Parameters:
    ///   - script: `sh` commands run when the owner is gone; `$1`, `$2`, … are `arguments`. Must be idempotent: it
    ///     also runs after an orderly ``release()``, once the owner has cleaned up itself.
    ///   - arguments: the script's positional parameters.
    /// - Throws: ``ScratchPostgresError`` if the socket pair or the process cannot be made.
    init(script: String, arguments: [String]) throws {
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw ScratchPostgresError(message: "socketpair() for a watchdog failed: errno \(errno)")
        }
        // Blocks until end of file or a `dismiss` line; anything else (nothing else is ever sent) is skipped.
        let wrapper = """
            trap '' HUP INT QUIT TERM PIPE
            while IFS= read -r line; do [ "$line" = dismiss ] && exit 0; done
            \(script)
            """
        do {
            // `dup2` onto 0 clears close-on-exec on the watchdog's copy only.
            pid = try Spawn.start(
                ["/bin/sh", "-c", wrapper, "offload-watchdog"] + arguments,
                stdoutPath: "/dev/null",
                stdin: .descriptor(ends[1]),
                ownProcessGroup: true
            )
        } catch {
            close(ends[0])
            close(ends[1])
            throw error
        }
        close(ends[1])
        link = Mutex(ends[0])
    }

    deinit {
        release()
    }

    /// Closes the link (the watchdog runs its script now) and waits for the watchdog to exit. Idempotent.
    func release() {
        finish(sending: nil)
    }

    /// Tells the watchdog to exit without running its script, and waits for it. Idempotent.
    func dismiss() {
        finish(sending: "dismiss\n")
    }

    private func finish(sending message: String?) {
        link.withLock { fd in
            guard fd >= 0 else { return }
            if var message {
                // MSG_NOSIGNAL: a watchdog killed by someone else must not turn into a SIGPIPE here.
                _ = message.withUTF8 { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            close(fd)
            fd = -1
            _ = Spawn.wait(pid)
        }
    }
}
