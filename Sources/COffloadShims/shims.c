#define _GNU_SOURCE
#include "COffloadShims.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int coffload_available_cpu_count(void) {
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) {
        return -1;
    }
    return CPU_COUNT(&set);
#else
    return -1;
#endif
}

int coffload_pipe_cloexec(int fds[2], int nonblocking) {
    return pipe2(fds, O_CLOEXEC | (nonblocking ? O_NONBLOCK : 0));
}

int coffload_eventfd(void) {
    return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

int coffload_pending_bytes(int fd) {
    int count = 0;
    return ioctl(fd, FIONREAD, &count) == 0 ? count : -1;
}

int coffload_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int coffload_pidfd_send_signal(int pidfd, int sig) {
#ifdef SYS_pidfd_send_signal
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

static void decode_siginfo(const siginfo_t *info, int *exited, int *status) {
    if (info->si_code == CLD_EXITED) {
        *exited = 1;
        *status = info->si_status;
    } else {
        *exited = 0;
        *status = info->si_status;
    }
}

int coffload_wait_pidfd(int pidfd, int nohang, int *reaped, int *exited, int *status) {
    siginfo_t info;
    info.si_pid = 0;
    int rc = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | (nohang ? WNOHANG : 0));
    if (rc != 0) return rc;
    if (info.si_pid == 0) {
        *reaped = 0;
        return 0;
    }
    *reaped = 1;
    decode_siginfo(&info, exited, status);
    return 0;
}

int coffload_wait_pid(pid_t pid, int nohang, int *exited, int *status) {
    int raw = 0;
    pid_t rc = waitpid(pid, &raw, nohang ? WNOHANG : 0);
    if (rc > 0) {
        if (WIFEXITED(raw)) {
            *exited = 1;
            *status = WEXITSTATUS(raw);
        } else {
            *exited = 0;
            *status = WIFSIGNALED(raw) ? WTERMSIG(raw) : 0;
        }
    }
    return (int)rc;
}

int coffload_pidfd_getfd(int pidfd, int targetfd) {
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
    return (int)syscall(SYS_pidfd_getfd, pidfd, targetfd, 0);
}

int coffload_memfd(const char *name, long long size) {
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) return -1;
    if (ftruncate(fd, (off_t)size) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int coffload_set_parent_death_signal(int sig) {
    return prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0);
}

/// Moves `fd` to a number >= 6 (close-on-exec) so that the dup2 actions below never overwrite a source descriptor.
/// Returns the descriptor to use and sets `*owned` when a temporary copy was made.
static int lift_fd(int fd, int *owned) {
    *owned = 0;
    if (fd < 0 || fd >= 6) return fd;
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 6);
    if (copy >= 0) *owned = 1;
    return copy;
}

int coffload_spawn_worker(const char *path, char *const argv[], char *const envp[], const char *cwd,
                          int stdout_fd, int stderr_fd, int command_fd, int result_fd, int journal_fd, pid_t *pid) {
    int owned[5] = {0, 0, 0, 0, 0};
    int fds[5] = {stdout_fd, stderr_fd, command_fd, result_fd, journal_fd};
    int rc = 0;
    for (int i = 0; i < 5; i++) {
        int lifted = lift_fd(fds[i], &owned[i]);
        if (fds[i] >= 0 && lifted < 0) {
            rc = errno;
            goto cleanup_fds;
        }
        fds[i] = lifted;
    }

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    if ((rc = posix_spawn_file_actions_init(&actions)) != 0) goto cleanup_fds;
    if ((rc = posix_spawnattr_init(&attr)) != 0) {
        posix_spawn_file_actions_destroy(&actions);
        goto cleanup_fds;
    }

    // Descriptors 0-4, exactly; everything else is closed.
    if ((rc = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)) != 0) goto cleanup;
    if (fds[0] >= 0 && (rc = posix_spawn_file_actions_adddup2(&actions, fds[0], 1)) != 0) goto cleanup;
    if ((rc = posix_spawn_file_actions_adddup2(&actions, fds[1], 2)) != 0) goto cleanup;
    if ((rc = posix_spawn_file_actions_adddup2(&actions, fds[2], 3)) != 0) goto cleanup;
    if ((rc = posix_spawn_file_actions_adddup2(&actions, fds[3], 4)) != 0) goto cleanup;
    if (fds[4] >= 0 && (rc = posix_spawn_file_actions_adddup2(&actions, fds[4], 5)) != 0) goto cleanup;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    if ((rc = posix_spawn_file_actions_addclosefrom_np(&actions, fds[4] >= 0 ? 6 : 5)) != 0) goto cleanup;
#endif
    if (cwd != NULL && (rc = posix_spawn_file_actions_addchdir_np(&actions, cwd)) != 0) goto cleanup;

    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigfillset(&defaults);
    sigdelset(&defaults, SIGKILL);
    sigdelset(&defaults, SIGSTOP);
    if ((rc = posix_spawnattr_setsigmask(&attr, &empty)) != 0) goto cleanup;
    if ((rc = posix_spawnattr_setsigdefault(&attr, &defaults)) != 0) goto cleanup;
    if ((rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) != 0) goto cleanup;

    rc = posix_spawn(pid, path, &actions, &attr, argv, envp);

cleanup:
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
cleanup_fds:
    for (int i = 0; i < 5; i++) {
        if (owned[i]) close(fds[i]);
    }
    return rc;
}

int coffload_pin_current_thread(int cpu) {
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    if (cpu < 0) {
        // Every CPU of the process's own affinity (the main thread's mask is the process default).
        if (sched_getaffinity(getpid(), sizeof(set), &set) != 0) return -1;
    } else {
        CPU_SET(cpu, &set);
    }
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
#else
    (void)cpu;
    return 0;
#endif
}

int coffload_errno(void) {
    return errno;
}

long long coffload_atomic_load(const long long *address) {
    return __atomic_load_n(address, __ATOMIC_SEQ_CST);
}

void coffload_atomic_store(long long *address, long long value) {
    __atomic_store_n(address, value, __ATOMIC_SEQ_CST);
}

long long coffload_atomic_fetch_add(long long *address, long long delta) {
    return __atomic_fetch_add(address, delta, __ATOMIC_SEQ_CST);
}

int coffload_atomic_compare_exchange(long long *address, long long *expected, long long desired) {
    return __atomic_compare_exchange_n(address, expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

int coffload_set_current_thread_name(const char *name) {
#if defined(__linux__)
    return pthread_setname_np(pthread_self(), name);
#elif defined(__APPLE__)
    return pthread_setname_np(name);
#else
    return 0;
#endif
}

#if defined(__linux__)
void __tsan_acquire(void *address) __attribute__((weak));
void __tsan_release(void *address) __attribute__((weak));
#endif

void coffload_tsan_acquire(const void *address) {
#if defined(__linux__)
    if (__tsan_acquire) {
        __tsan_acquire((void *)address);
    }
#endif
}

void coffload_tsan_release(const void *address) {
#if defined(__linux__)
    if (__tsan_release) {
        __tsan_release((void *)address);
    }
#endif
}

#include <linux/futex.h>
#include <time.h>

int coffload_futex_wait(unsigned int *address, unsigned int expected, long long timeout_ns) {
    struct timespec timeout;
    struct timespec *limit = NULL;
    if (timeout_ns >= 0) {
        timeout.tv_sec = (time_t)(timeout_ns / 1000000000LL);
        timeout.tv_nsec = (long)(timeout_ns % 1000000000LL);
        limit = &timeout;
    }
    return (int)syscall(SYS_futex, address, FUTEX_WAIT, expected, limit, NULL, 0);
}

int coffload_futex_wake(unsigned int *address, int count) {
    return (int)syscall(SYS_futex, address, FUTEX_WAKE, count, NULL, NULL, 0);
}

int coffload_thread_sanitizer_active(void) {
    // The weak TSan entry points resolve only when the ThreadSanitizer runtime is linked in.
    return __tsan_acquire != 0;
}
