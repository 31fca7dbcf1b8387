/* serial.c — ent_dist_* for a build without MPI: one process, every
 * collective a no-op. Started by a launcher with several ranks, it refuses
 * to run rather than train K independent copies that overwrite each other. */
#ifndef ENT_HAVE_MPI
#include <stdlib.h>
#include <string.h>

#include "entropic.h"

int ent_dist_compiled(void) { return 0; }

ent_status ent_dist_init(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    int k = ent_dist_env_size();
    if (k > 1)
        return ent_fail(ENT_EUSAGE, "started by mpirun with %d ranks, but this entropic was built without "
                        "MPI (apt-get install libopenmpi-dev openmpi-bin, then rebuild)", k);
    return ENT_OK;
}

void ent_dist_finalize(void) {}
int ent_dist_rank(void) { return 0; }
int ent_dist_size(void) { return 1; }
ent_status ent_dist_allreduce_sum(float *x, int64_t n) { (void)x; (void)n; return ENT_OK; }
ent_status ent_dist_allreduce_sum_f64(double *x, int64_t n) { (void)x; (void)n; return ENT_OK; }

ent_status ent_dist_gather(const void *local, void *out, int64_t bytes) {
    if (out != local) memmove(out, local, (size_t)bytes);
    return ENT_OK;
}

void ent_dist_abort(int code) { exit(code); }
#else
typedef int ent_dist_serial_unused; /* keeps this translation unit non-empty */
#endif
