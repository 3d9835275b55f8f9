#ifndef COFFLOAD_SHIMS_H
#define COFFLOAD_SHIMS_H

/// Linux calls that Swift's `import Glibc` does not expose. Each wrapper returns what the C call returns and leaves
/// `errno` set as the call left it. Bodies are in shims.c, which defines `_GNU_SOURCE`.

/// The number of CPUs this process may run on (`sched_getaffinity`), or -1 on error.
int coffload_available_cpu_count(void);

/// Names the calling thread (at most 15 bytes on Linux). Returns 0 or an error number.
int coffload_set_current_thread_name(const char *name);

#endif
