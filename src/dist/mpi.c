/* mpi.c — ent_dist_* over MPI_COMM_WORLD (built when mpicc is found: the
 * Makefile adds -DENT_HAVE_MPI and mpicc's flags; serial.c is the stub).
 *
 * MPI is initialised only when a launcher started several ranks, so one
 * process never pays for (or depends on) the MPI runtime. Errors keep MPI's
 * default handler, MPI_ERRORS_ARE_FATAL: a rank that dies or a failed
 * collective ends the whole job with Open MPI's message instead of leaving
 * the other ranks blocked in a collective. */
#ifdef ENT_HAVE_MPI
#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "entropic.h"

static int g_active; /* MPI_Init done here and more than one rank */
static int g_rank, g_size = 1;

int ent_dist_compiled(void) { return 1; }

ent_status ent_dist_init(int *argc, char ***argv) {
    if (g_active || ent_dist_env_size() <= 1) return ENT_OK;
    int flag = 0;
    MPI_Initialized(&flag);
    if (!flag && MPI_Init(argc, argv) != MPI_SUCCESS)
        return ent_fail(ENT_EIO, "dist: MPI_Init failed");
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    g_active = g_size > 1;
    return ENT_OK;
}

void ent_dist_finalize(void) {
    if (!g_active) return;
    MPI_Finalize();
    g_active = 0;
    g_rank = 0;
    g_size = 1;
}

int ent_dist_rank(void) { return g_rank; }
int ent_dist_size(void) { return g_size; }

/* Counts are int in MPI: large vectors go in chunks. */
#define CHUNK (1 << 30)

ent_status ent_dist_allreduce_sum(float *x, int64_t n) {
    for (int64_t off = 0; g_active && off < n; off += CHUNK) {
        int k = (int)(n - off < CHUNK ? n - off : CHUNK);
        if (MPI_Allreduce(MPI_IN_PLACE, x + off, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
            return ent_fail(ENT_EIO, "dist: MPI_Allreduce of %d floats failed", k);
    }
    return ENT_OK;
}

ent_status ent_dist_allreduce_sum_f64(double *x, int64_t n) {
    for (int64_t off = 0; g_active && off < n; off += CHUNK) {
        int k = (int)(n - off < CHUNK ? n - off : CHUNK);
        if (MPI_Allreduce(MPI_IN_PLACE, x + off, k, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
            return ent_fail(ENT_EIO, "dist: MPI_Allreduce of %d doubles failed", k);
    }
    return ENT_OK;
}

ent_status ent_dist_gather(const void *local, void *out, int64_t bytes) {
    if (!g_active) {
        if (out != local) memmove(out, local, (size_t)bytes);
        return ENT_OK;
    }
    if (bytes > INT_MAX) return ent_fail(ENT_EINVAL, "dist: gather of %lld bytes per rank is too large", (long long)bytes);
    if (MPI_Gather(local, (int)bytes, MPI_BYTE, out, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
        return ent_fail(ENT_EIO, "dist: MPI_Gather failed");
    return ENT_OK;
}

void ent_dist_abort(int code) {
    if (g_active) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}
#else
typedef int ent_dist_mpi_unused; /* keeps this translation unit non-empty */
#endif
