#define _GNU_SOURCE
#include "COffloadForkServer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_GET_TID_ADDRESS
#define PR_GET_TID_ADDRESS 40
#endif

int coffload_seqpacket_pair(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds);
}

long coffload_send_with_fds(int socket, const void *bytes, unsigned long length, const int *fds, int fd_count) {
    if (fd_count < 0 || fd_count > 8) {
        errno = EINVAL;
        return -1;
    }
    struct iovec iov = {.iov_base = (void *)bytes, .iov_len = length};
    union {
        char buffer[CMSG_SPACE(8 * sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof(control));
    struct msghdr message = {0};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    if (fd_count > 0) {
        message.msg_control = control.buffer;
        message.msg_controllen = CMSG_SPACE(fd_count * sizeof(int));
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(fd_count * sizeof(int));
        memcpy(CMSG_DATA(header), fds, fd_count * sizeof(int));
    }
    long sent;
    do {
        sent = sendmsg(socket, &message, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent;
}

long coffload_receive_with_fds(int socket, void *bytes, unsigned long capacity, int *fds, int *fd_count) {
    int wanted = *fd_count;
    *fd_count = 0;
    struct iovec iov = {.iov_base = bytes, .iov_len = capacity};
    union {
        char buffer[CMSG_SPACE(8 * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr message = {0};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof(control.buffer);
    long received;
    do {
        received = recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    } while (received < 0 && errno == EINTR);
    if (received < 0) return -1;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *arrived = (int *)CMSG_DATA(header);
        for (int i = 0; i < count; i++) {
            if (*fd_count < wanted && !(message.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
                fds[(*fd_count)++] = arrived[i];
            } else {
                close(arrived[i]);
            }
        }
    }
    if (message.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
        for (int i = 0; i < *fd_count; i++) close(fds[i]);
        *fd_count = 0;
        errno = EMSGSIZE;
        return -1;
    }
    return received;
}

int coffload_thread_count(void) {
    DIR *directory = opendir("/proc/self/task");
    if (directory == NULL) return -1;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        if (entry->d_name[0] != '.') count++;
    }
    closedir(directory);
    return count;
}

pid_t coffload_clone_parent(void) {
    int *tid_address = NULL;
    unsigned long flags = CLONE_PARENT | SIGCHLD;
    if (prctl(PR_GET_TID_ADDRESS, &tid_address, 0, 0, 0) == 0 && tid_address != NULL) {
        flags |= CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
    }
    void *robust_head = NULL;
    size_t robust_length = 0;
    int has_robust = syscall(SYS_get_robust_list, 0, &robust_head, &robust_length) == 0 && robust_head != NULL;
    // The raw system call (no glibc wrapper runs atfork handlers or takes locks). The argument order of clone
    // differs by architecture only in the last two (tls, child_tid), so both carry the tid address.
#if defined(__x86_64__)
    long pid = syscall(SYS_clone, flags, NULL, NULL, tid_address, NULL);
#else
    long pid = syscall(SYS_clone, flags, NULL, NULL, NULL, tid_address);
#endif
    if (pid == 0 && has_robust) {
        syscall(SYS_set_robust_list, robust_head, robust_length);
    }
    return (pid_t)pid;
}

/// Moves `fd` to a number >= 6 so that the dup2 calls below never overwrite a source descriptor.
static int lift(int fd) {
    if (fd < 0 || fd >= 6) return fd;
    return fcntl(fd, F_DUPFD_CLOEXEC, 6);
}

int coffload_install_worker_fds(int stderr_fd, int command_fd, int result_fd, int journal_fd) {
    int sources[4] = {stderr_fd, command_fd, result_fd, journal_fd};
    for (int i = 0; i < 4; i++) {
        int lifted = lift(sources[i]);
        if (sources[i] >= 0 && lifted < 0) return -1;
        sources[i] = lifted;
    }
    for (int i = 0; i < 4; i++) {
        if (sources[i] < 0) continue;
        // dup2 clears close-on-exec on the new descriptor.
        if (dup2(sources[i], 2 + i) < 0) return -1;
    }
    int first_closed = journal_fd >= 0 ? 6 : 5;
#ifdef SYS_close_range
    if (syscall(SYS_close_range, first_closed, ~0U, 0) != 0)
#endif
    {
        long limit = sysconf(_SC_OPEN_MAX);
        for (long fd = first_closed; fd < (limit > 0 ? limit : 1024); fd++) close((int)fd);
    }
    sigset_t empty;
    sigemptyset(&empty);
    if (sigprocmask(SIG_SETMASK, &empty, NULL) != 0) return -1;
    struct sigaction defaults;
    memset(&defaults, 0, sizeof(defaults));
    defaults.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        (void)sigaction(sig, &defaults, NULL);
    }
    return 0;
}
