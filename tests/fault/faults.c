/* faults.c — the faults of build/entropic-faults.
 *
 * Allocation: the CLI is linked with
 * -Wl,--wrap for malloc, calloc, realloc, posix_memalign and aligned_alloc
 * (Makefile), so every allocation of entropic's own code passes here.
 *   ENT_FAIL_ALLOC=N   the N-th allocation fails (once; later ones succeed)
 *   ENT_COUNT_ALLOC=1  print "allocations: K" to stderr at exit
 *   ENT_TRACE_ALLOC=1  print the stack of the refused allocation (to find
 *                      who ignored it)
 * tests/test_faults.c sweeps N over a command's allocations: each failure
 * must end the command with exit 2 and a message saying out of memory,
 * without a crash, a sanitizer report or a leak.
 *
 * kill -9: the library calls ent_fault_point at named points (a weak
 * reference, NULL in every other build): "write:open", "write:half",
 * "write:written", "write:renamed" inside each atomic file write, "step"
 * after each training update.
 *   ENT_KILL_AT=POINT:K  SIGKILL at the K-th time POINT is reached
 *   ENT_KILL_RANK=R      under mpirun, only in rank R
 * tests/test_kill.c kills runs so and resumes them. */
#include <errno.h>
#include <execinfo.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);

static long count, fail_at = -1; /* -1: not read from the environment yet */

static void report(void) { fprintf(stderr, "allocations: %ld\n", count); }

/* 1 if this allocation is the one to refuse. */
static int refuse(void) {
    if (__atomic_load_n(&fail_at, __ATOMIC_ACQUIRE) < 0) {
        const char *v = getenv("ENT_FAIL_ALLOC"), *c = getenv("ENT_COUNT_ALLOC");
        long at = v ? atol(v) : 0;
        long expected = -1;
        if (__atomic_compare_exchange_n(&fail_at, &expected, at, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) && c &&
            c[0] == '1')
            atexit(report);
    }
    if (__atomic_add_fetch(&count, 1, __ATOMIC_RELAXED) != fail_at) return 0;
    const char *tr = getenv("ENT_TRACE_ALLOC");
    if (tr && tr[0] == '1') {
        void *frames[32];
        backtrace_symbols_fd(frames, backtrace(frames, 32), 2);
    }
    return 1;
}

void *__wrap_malloc(size_t n) { return refuse() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t k, size_t n) { return refuse() ? NULL : __real_calloc(k, n); }
void *__wrap_realloc(void *p, size_t n) { return refuse() ? NULL : __real_realloc(p, n); }
int __wrap_posix_memalign(void **p, size_t a, size_t n) { return refuse() ? ENOMEM : __real_posix_memalign(p, a, n); }
void *__wrap_aligned_alloc(size_t a, size_t n) { return refuse() ? NULL : __real_aligned_alloc(a, n); }

void ent_fault_point(const char *where);

void ent_fault_point(const char *where) {
    static long hits;
    const char *at = getenv("ENT_KILL_AT");
    const char *colon = at ? strrchr(at, ':') : NULL;
    if (!colon || (size_t)(colon - at) != strlen(where) || strncmp(at, where, (size_t)(colon - at)) != 0) return;
    const char *rank = getenv("ENT_KILL_RANK"), *mine = getenv("OMPI_COMM_WORLD_RANK");
    if (rank && (!mine || atoi(rank) != atoi(mine))) return;
    if (__atomic_add_fetch(&hits, 1, __ATOMIC_RELAXED) == atol(colon + 1)) raise(SIGKILL);
}
