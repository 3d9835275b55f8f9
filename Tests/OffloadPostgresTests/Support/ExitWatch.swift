import Foundation
import OffloadPostgresScratch
import OffloadSystem

#if canImport(Glibc)
    import Glibc
#endif

/// A process (any, not only a child of ours) watched through a pidfd, opened while its PID is known to be that
/// process's: waiting on it is immune to PID reuse, and wakes the moment the process exits.
final class ExitWatch: Sendable {
    let pid: Int32
    private let pidfd: Int32

    init(_ pid: Int32) throws {
        self.pid = pid
        pidfd = Syscalls.pidfdOpen(pid)
        guard pidfd >= 0 else { throw WorkerProcessError(text: "pidfd_open(\(pid)) failed: errno \(errno)") }
    }

    deinit { close(pidfd) }

    /// Whether the process exited within `timeout` (`.zero`: whether it has exited already). The blocking `poll` runs
    /// on a thread of its own, never on the test's executor.
    func exited(within timeout: Duration) async -> Bool {
        let fd = pidfd
        let (seconds, attoseconds) = timeout.components
        let milliseconds = Int32(seconds * 1_000 + attoseconds / 1_000_000_000_000_000)
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var entries = [Syscalls.PollEntry(fd: fd)]
                Syscalls.poll(&entries, timeoutMilliseconds: milliseconds)
                continuation.resume(returning: entries[0].ready)
            }
        }
    }

    /// Whether the process exited by `deadline` (a deadline shared by several waits bounds them all together).
    func exited(by deadline: ContinuousClock.Instant) async -> Bool {
        await exited(within: max(.zero, deadline - ContinuousClock.now))
    }

    /// Whether the process still exists (not exited; `kill(pid, 0)` would also count a zombie).
    var isRunning: Bool {
        var entries = [Syscalls.PollEntry(fd: pidfd)]
        Syscalls.poll(&entries, timeoutMilliseconds: 0)
        return !entries[0].ready
    }
}

extension ScratchProcess {
    /// Waits (up to 60 s) for the line starting with `tag` that a watchdog-test mode of the fixture prints; returns
    /// its fields after the tag.
    func report(_ tag: String) async throws -> [String] {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            if let line = output.split(separator: "\n").first(where: { $0.hasPrefix(tag + " ") }) {
                return line.split(separator: " ").dropFirst().map(String.init)
            }
            guard isRunning, ContinuousClock.now < deadline else {
                throw WorkerProcessError(text: "no '\(tag)' line from \(pid): '\(output)'")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// The children of `pid`, from `/proc/<pid>/task/*/children`.
func childProcesses(of pid: Int32) -> [Int32] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    return tasks.flatMap { task in
        ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? "")
            .split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}

/// The state letter in `/proc/<pid>/stat` (`T`: stopped), or `nil` once the process is gone.
func processState(_ pid: Int32) -> Character? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return nil }
    return stat[stat.index(after: close)...].first { $0 != " " }
}
