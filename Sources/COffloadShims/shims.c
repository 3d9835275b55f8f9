#define _GNU_SOURCE
#include "COffloadShims.h"

#include <pthread.h>
#include <sched.h>

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

int coffload_set_current_thread_name(const char *name) {
#if defined(__linux__)
    return pthread_setname_np(pthread_self(), name);
#elif defined(__APPLE__)
    return pthread_setname_np(name);
#else
    return 0;
#endif
}
