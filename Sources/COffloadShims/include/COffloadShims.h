#ifndef COFFLOAD_SHIMS_H
#define COFFLOAD_SHIMS_H

#include <sys/types.h>
#include "COffloadForkServer.h"

/// Linux calls that Swift's `import Glibc` does not expose. Each wrapper returns what the C call returns and leaves
/// `errno` set as the call left it. Bodies are in shims.c, which defines `_GNU_SOURCE`.

/// The number of CPUs this process may run on (`sched_getaffinity`), or -1 on error.
int coffload_available_cpu_count(void);

/// `pipe2(fds, O_CLOEXEC | (nonblocking ? O_NONBLOCK : 0))`: both ends close-on-exec from the start, so a concurrent
/// `posix_spawn` on another thread can never inherit them.
int coffload_pipe_cloexec(int fds[2], int nonblocking);

/// `eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)`: the process pool manager's wake-up descriptor.
int coffload_eventfd(void);

/// `ioctl(fd, FIONREAD)`: the bytes waiting in a pipe, or -1.
int coffload_pending_bytes(int fd);

/// `pidfd_open(pid, 0)`: a descriptor that becomes readable when the process exits. -1 with `ENOSYS` on old kernels.
int coffload_pidfd_open(pid_t pid);

/// `pidfd_getfd(pidfd, targetfd, 0)`: a duplicate (close-on-exec) of descriptor `targetfd` of the process behind
/// `pidfd`. Needs ptrace access to that process (`PTRACE_MODE_ATTACH_REALCREDS`). -1 and errno on failure.
int coffload_pidfd_getfd(int pidfd, int targetfd);

/// `pidfd_send_signal(pidfd, sig, NULL, 0)`: signals exactly the process the pidfd refers to (no PID-reuse race).
int coffload_pidfd_send_signal(int pidfd, int sig);

/// `waitid(P_PIDFD, pidfd, ..., WEXITED | (nohang ? WNOHANG : 0))`. On success stores how the child ended:
/// `*exited = 1, *status = exit status` or `*exited = 0, *status = signal`; `*reaped = 0` when WNOHANG found nothing.
int coffload_wait_pidfd(int pidfd, int nohang, int *reaped, int *exited, int *status);

/// `waitpid(pid, ..., nohang ? WNOHANG : 0)` decoded like `coffload_wait_pidfd`. Returns the pid, 0, or -1.
int coffload_wait_pid(pid_t pid, int nohang, int *exited, int *status);

/// `prctl(PR_SET_PDEATHSIG, sig)`: the kernel sends `sig` to this process when the thread that spawned it exits.
int coffload_set_parent_death_signal(int sig);

/// Spawns a worker process with `posix_spawn`, giving it exactly these descriptors and no others:
///   0 ← /dev/null (read), 1 ← `stdout_fd` (or the parent's 1 when -1), 2 ← `stderr_fd`, 3 ← `command_fd`,
///   4 ← `result_fd`, 5 ← `journal_fd` (when not -1); every descriptor above is closed
///   (`posix_spawn_file_actions_addclosefrom_np`).
/// Signal mask emptied and every catchable signal reset to its default (the parent ignores SIGPIPE).
/// `cwd` may be NULL. Returns 0 or an errno value (posix_spawn does not set errno); stores the PID in `*pid`.
int coffload_spawn_worker(const char *path, char *const argv[], char *const envp[], const char *cwd,
                          int stdout_fd, int stderr_fd, int command_fd, int result_fd, int journal_fd, pid_t *pid);

/// `memfd_create(name, MFD_CLOEXEC)` grown to `size` bytes (pages are allocated when first touched). -1 and errno on
/// failure.
int coffload_memfd(const char *name, long long size);

/// Atomics on 64-bit words in memory shared between processes (a worker's progress journal). Inline, so a worker's
/// per-item bookkeeping costs a few instructions rather than a call.
static inline unsigned long long coffload_shared_load(const unsigned long long *address) {
    return __atomic_load_n(address, __ATOMIC_SEQ_CST);
}
static inline void coffload_shared_store(unsigned long long *address, unsigned long long value) {
    __atomic_store_n(address, value, __ATOMIC_SEQ_CST);
}
static inline void coffload_shared_store_release(unsigned long long *address, unsigned long long value) {
    __atomic_store_n(address, value, __ATOMIC_RELEASE);
}

/// Sequentially consistent atomics on a 64-bit integer in shared memory (the SharedCounter's operations; C11 atomics
/// are address-free for lock-free types, so they work across processes mapping the same page).
long long coffload_atomic_load(const long long *address);
void coffload_atomic_store(long long *address, long long value);
long long coffload_atomic_fetch_add(long long *address, long long delta);
int coffload_atomic_compare_exchange(long long *address, long long *expected, long long desired);

/// Restricts the calling thread to CPU `cpu`, or (with -1) to every CPU the process may use. Returns 0 or -1.
int coffload_pin_current_thread(int cpu);

/// The current `errno`.
int coffload_errno(void);

/// Names the calling thread (at most 15 bytes on Linux). Returns 0 or an error number.
int coffload_set_current_thread_name(const char *name);

/// ThreadSanitizer annotations: tell TSan that a lock identified by `address` was acquired / is being released.
/// No-ops unless the TSan runtime is linked in (weak references, Linux only). Needed because
/// Synchronization.Mutex's contended path runs in the uninstrumented Swift runtime, where TSan cannot see it.
void coffload_tsan_acquire(const void *address);
void coffload_tsan_release(const void *address);
/// 1 when the process runs under ThreadSanitizer (`swift test --sanitize=thread`), else 0.
int coffload_thread_sanitizer_active(void);

/// Shared-memory transport: atomics on the 64-bit words of a ring header shared with a worker, and a futex on the
/// low 32 bits of such a word (little-endian: the low half sits at the word's address).
static inline unsigned long long coffload_shared_load_acquire(const unsigned long long *address) {
    return __atomic_load_n(address, __ATOMIC_ACQUIRE);
}
static inline unsigned long long coffload_shared_exchange(unsigned long long *address, unsigned long long value) {
    return __atomic_exchange_n(address, value, __ATOMIC_SEQ_CST);
}
/// A hint to the CPU that the caller is spinning (`pause` on x86, `yield` on ARM).
static inline void coffload_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/// `futex(address, FUTEX_WAIT, expected, timeout)` on memory shared between processes (not FUTEX_PRIVATE):
/// sleeps while `*address == expected`, at most `timeout_ns` (< 0: no limit). Returns 0, or -1 with errno
/// (`EAGAIN`: the value differed; `ETIMEDOUT`; `EINTR`).
int coffload_futex_wait(unsigned int *address, unsigned int expected, long long timeout_ns);

/// `futex(address, FUTEX_WAKE, count)` on shared memory. Returns the number woken, or -1 with errno.
int coffload_futex_wake(unsigned int *address, int count);

#endif
