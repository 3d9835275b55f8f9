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
