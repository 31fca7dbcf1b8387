/* mem.c — aligned allocation, the clock, the thread count. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "entropic.h"

/* Big buffers are 2 MiB aligned and advised onto huge pages: on these VMs a
 * first touch of a 4 KiB page costs ~10 us, so we touch everything once here
 * (memset) and never again pay for it inside a training step. */
void *ent_alloc(size_t bytes) {
    size_t align = bytes >= (1u << 21) ? (1u << 21) : 64;
    size_t size = (bytes + align - 1) / align * align;
    if (size == 0) size = align;
    void *p = NULL;
    if (posix_memalign(&p, align, size) != 0) return NULL;
#ifdef MADV_HUGEPAGE
    if (align == (1u << 21)) madvise(p, size, MADV_HUGEPAGE);
#endif
    memset(p, 0, size);
    return p;
}

void ent_free_aligned(void *p) { free(p); }

double ent_time_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* OpenBLAS built for OpenMP follows omp_set_num_threads; the pthread build
 * has its own pool, which we size too (weak symbol: absent elsewhere). */
void openblas_set_num_threads(int n) __attribute__((weak));

void ent_set_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
    if (openblas_set_num_threads) openblas_set_num_threads(n);
}

int ent_get_threads(void) { return omp_get_max_threads(); }
