#ifndef COFFLOAD_FORK_SERVER_H
#define COFFLOAD_FORK_SERVER_H

#include <sys/types.h>

/// The process pool's fork server (see ForkServer.swift). Bodies are in forkserver.c, which defines `_GNU_SOURCE`.
/// Each returns what the underlying call returns and leaves `errno` as the call left it unless noted.

/// `socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds)`: one request or reply per message.
int coffload_seqpacket_pair(int fds[2]);

/// `sendmsg` of `length` bytes plus `fd_count` descriptors (SCM_RIGHTS, at most 8) with MSG_NOSIGNAL; EINTR retried.
/// Returns the bytes sent or -1.
long coffload_send_with_fds(int socket, const void *bytes, unsigned long length, const int *fds, int fd_count);

/// `recvmsg` of at most `capacity` bytes and `*fd_count` descriptors (received close-on-exec, MSG_CMSG_CLOEXEC);
/// EINTR retried. On return `*fd_count` holds how many descriptors arrived. Returns the bytes received, 0 at end of
/// file, or -1. Descriptors beyond `*fd_count` or in a truncated message are closed.
long coffload_receive_with_fds(int socket, void *bytes, unsigned long capacity, int *fds, int *fd_count);

/// The number of threads of the calling process (entries of /proc/self/task), or -1 if it cannot be read.
int coffload_thread_count(void);

/// Forks the calling (single-threaded) process with `clone(CLONE_PARENT | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID
/// | SIGCHLD)`: the child becomes a child of the caller's parent, not of the caller. Like glibc's own fork, the
/// child's thread id is written into glibc's thread descriptor (found with PR_GET_TID_ADDRESS; without that prctl
/// the flags are left out) and the robust-futex list is registered again in the child. No atfork handlers run: the
/// caller must hold no lock. Returns the child's PID in the caller, 0 in the child, -1 with errno on failure
/// (EINVAL when CLONE_PARENT is refused, e.g. in a PID namespace's init).
pid_t coffload_clone_parent(void);

/// In a freshly cloned worker: makes `stderr_fd`, `command_fd`, `result_fd`, `journal_fd` (may be -1) descriptors
/// 2, 3, 4 and 5 (blocking, inherited on exec), closes every descriptor from 6 (5 without a journal) up, empties
/// the signal mask and resets every catchable signal to its default disposition. Returns 0 or -1 with errno.
int coffload_install_worker_fds(int stderr_fd, int command_fd, int result_fd, int journal_fd);

#endif
