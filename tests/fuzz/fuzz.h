/* fuzz.h — what the fuzz targets share. Every parser of entropic reads a
 * path, so a target hands it the fuzzer's bytes as a file: a memfd (a
 * regular file in memory, no disk), named through /proc/self/fd. */
#ifndef ENT_FUZZ_H
#define ENT_FUZZ_H

#include <stddef.h> /* compiled with -D_GNU_SOURCE (memfd_create) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* A broken promise of a parser: say which, with its last message, and
 * abort (libFuzzer keeps the input). */
static inline void fuzz_fail(const char *what) {
    fprintf(stderr, "fuzz: %s (last error: %s)\n", what, ent_last_error());
    abort();
}

/* A failure's message is one line: the CLI prints it as one. */
static inline void fuzz_one_line(const char *who) {
    if (!*ent_last_error() || strchr(ent_last_error(), '\n')) fuzz_fail(who);
}

/* ---- the text targets (fuzz_text, fuzz_words, fuzz_vocab) */

static inline void fuzz_ids_inside(const ent_vocab *v, const ent_tokens *t) {
    for (int64_t i = 0; i < t->n; i++)
        if (t->ids[i] < 0 || t->ids[i] >= ent_vocab_size(v)) fuzz_fail("an id outside the vocabulary");
}

/* A checkpoint stores the vocabulary as JSON (ent_vocab_to_json): what it
 * writes must read back as the same tokens in the same order. */
static inline void fuzz_vocab_roundtrip(const ent_vocab *v) {
    char *json = ent_vocab_to_json(v);
    if (!json) fuzz_fail("ent_vocab_to_json failed");
    ent_vocab *w = NULL;
    if (ent_vocab_from_json(&w, json, "written") != ENT_OK) {
        fprintf(stderr, "%s\n", json);
        fuzz_fail("a written vocabulary does not read back");
    }
    if (ent_vocab_size(w) != ent_vocab_size(v) || ent_vocab_kind_of(w) != ent_vocab_kind_of(v))
        fuzz_fail("a written vocabulary reads back with another size or kind");
    for (int32_t i = 0; i < ent_vocab_size(v); i++)
        if (strcmp(ent_vocab_token(v, i), ent_vocab_token(w, i)) != 0) fuzz_fail("a token changed through JSON");
    ent_vocab_free(w);
    free(json);
}

#endif
