/* fuzz.h — what the fuzz targets share. Every parser of entropic reads a
 * path, so a target hands it the fuzzer's bytes as a file: a memfd (a
 * regular file in memory, no disk), named through /proc/self/fd. */
#ifndef ENT_FUZZ_H
#define ENT_FUZZ_H

#include <stddef.h> /* compiled with -D_GNU_SOURCE (memfd_create) */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "entropic.h"

/* A file holding data[0..n), its name in path; returns its fd (close it
 * after use), or -1. */
static inline int fuzz_file(const uint8_t *data, size_t n, char path[64]) {
    int fd = memfd_create("fuzz", MFD_CLOEXEC);
    if (fd < 0) return -1;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, data + done, n - done);
        if (w <= 0) break;
        done += (size_t)w;
    }
    snprintf(path, 64, "/proc/self/fd/%d", fd);
    return fd;
}

/* Two inputs from one: the first two bytes give the first part's length
 * (little-endian, modulo what is there), the rest is the second. */
static inline void fuzz_split(const uint8_t *data, size_t n, const uint8_t **a, size_t *na, const uint8_t **b,
                              size_t *nb) {
    size_t k = n >= 2 ? (size_t)(data[0] | data[1] << 8) : 0;
    data += n >= 2 ? 2 : n, n -= n >= 2 ? 2 : n;
    if (k > n) k = n;
    *a = data, *na = k, *b = data + k, *nb = n - k;
}

#endif
