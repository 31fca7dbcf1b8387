/* fuzz_text.c — the character corpus loader (--dataset text) on one UTF-8
 * file. What loads must give back the file: the three splits, decoded
 * through the vocabulary, are its bytes in order (the splits are cuts of
 * one character stream), and the vocabulary, written as a checkpoint's
 * JSON and read again, is the same tokens. What fails is ENT_EFORMAT with
 * a one-line message (the CLI prints it as one). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    char path[64];
    const int fd = fuzz_file(data, n, path);
    if (fd < 0) return 0;
    ent_vocab *v = NULL;
    ent_tokens *t[3] = {NULL, NULL, NULL};
    const ent_status s = ent_text_load(path, &v, &t[0], &t[1], &t[2]);
    close(fd);
    if (s != ENT_OK) {
        if (s != ENT_EFORMAT || v || t[0] || t[1] || t[2]) fuzz_fail("a failed load: not EFORMAT, or parts left");
        fuzz_one_line("ent_text_load");
        return 0;
    }
    const int64_t size = ent_vocab_size(v);
    if (size < 1 || ent_vocab_kind_of(v) != ENT_VOCAB_CHARS) fuzz_fail("a loaded vocabulary is empty or not chars");
    char *back = malloc(n + 1);
    size_t at = 0;
    for (int k = 0; k < 3; k++) {
        if (t[k]->n < 2) fuzz_fail("a split of fewer than 2 tokens");
        fuzz_ids_inside(v, t[k]);
        const int64_t len = ent_vocab_decode(v, t[k]->ids, t[k]->n, back + at, n + 1 - at);
        if (len < 0 || at + (size_t)len > n) fuzz_fail("the splits decode to more than the file");
        at += (size_t)len;
    }
    if (at != n || memcmp(back, data, n) != 0) fuzz_fail("the splits do not decode to the file");
    /* code point order: byte order of UTF-8, so each token sorts after the last */
    for (int32_t i = 1; i < size; i++)
        if (strcmp(ent_vocab_token(v, i - 1), ent_vocab_token(v, i)) >= 0) fuzz_fail("vocabulary not in code point order");
    fuzz_vocab_roundtrip(v);
    free(back);
    for (int k = 0; k < 3; k++) ent_tokens_free(t[k]);
    ent_vocab_free(v);
    return 0;
}
