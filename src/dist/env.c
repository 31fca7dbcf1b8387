/* env.c — the rank and size a launcher announces in the environment, so
 * that a process knows before MPI_Init whether it is one of several (and
 * whether MPI is needed at all: a plain `entropic train` never touches MPI). */
#include <stdlib.h>

#include "entropic.h"

static int env_int(const char *const *names, int fallback) {
    for (int i = 0; names[i]; i++) {
        const char *v = getenv(names[i]);
        if (v && *v) return atoi(v);
    }
    return fallback;
}

int ent_dist_env_rank(void) {
    static const char *const names[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", NULL};
    return env_int(names, 0);
}

int ent_dist_env_size(void) {
    static const char *const names[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", NULL};
    return env_int(names, 1);
}

int ent_dist_env_local_size(void) {
    static const char *const names[] = {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", NULL};
    return env_int(names, 1);
}
