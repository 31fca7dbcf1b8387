/* fuzz_cifar.c — CIFAR-10 binary batches: one file of 3073-byte records. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    char p[64];
    int fd = fuzz_file(data, n, p);
    if (fd < 0) return 0;
    const char *paths[1] = {p};
    const float mean[3] = {0.5f, 0.5f, 0.5f}, std[3] = {0.25f, 0.25f, 0.25f};
    ent_dataset *d = NULL;
    if (ent_cifar10_load(&d, paths, 1, mean, std) == ENT_OK) {
        if (d->n < 1 || d->c != 3 || d->y[0] < 0 || d->y[0] > 9) __builtin_trap();
        ent_dataset_free(d);
    }
    close(fd);
    return 0;
}
