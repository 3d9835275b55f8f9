import COffloadShims
import Glibc
import Synchronization

/// Process-wide signal set-up for the process pool.
package enum Signals {
    private static let sigpipeIgnored = Atomic<Bool>(false)

    /// Ignores `SIGPIPE` once per process, so that writing to a dead worker's pipe returns `EPIPE` (treated as "the
    /// worker died") instead of killing the parent. Children get default dispositions back (posix_spawn SETSIGDEF).
    package static func ignoreSIGPIPE() {
        guard !sigpipeIgnored.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = signal(SIGPIPE, SIG_IGN)
    }

    /// In a worker: asks the kernel to SIGKILL this process when its parent dies, then closes the race in which the
    /// parent died before the request (the worker is then already re-parented, so `getppid` differs).
    package static func dieWithParent(expectedParent: pid_t) {
        _ = coffload_set_parent_death_signal(SIGKILL)
        if expectedParent > 0, getppid() != expectedParent { _exit(70) }
    }
}
