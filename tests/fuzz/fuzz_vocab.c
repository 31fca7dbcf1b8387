/* fuzz_vocab.c — a checkpoint's vocabulary (the metadata entropic.vocab,
 * read by ent_vocab_from_json: its own checks on top of the JSON reader)
 * and the text a sequence model is primed with (ent_vocab_encode), then
 * its ids printed back (ent_vocab_decode). The input is split in two
 * (fuzz.h): the vocabulary's JSON, then the priming text. A vocabulary
 * that reads must write back as itself; a text that encodes must decode
 * to itself (characters) or to a text that encodes to the same ids
 * (words: white space becomes one space); a short buffer gets a prefix. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static char *c_string(const uint8_t *b, size_t n) {
    char *s = malloc(n + 1);
    if (n) memcpy(s, b, n);
    s[n] = 0; /* both are C strings to the library: an inner NUL ends them */
    return s;
}

static void prime(const ent_vocab *v, const char *text) {
    int64_t n = -1;
    const ent_status s = ent_vocab_encode(v, text, NULL, 0, &n);
    if (s != ENT_OK) {
        if (s != ENT_EINVAL) fuzz_fail("a text that does not encode: not EINVAL");
        fuzz_one_line("ent_vocab_encode");
        return;
    }
    int32_t *ids = malloc(sizeof *ids * (size_t)(n + 1)), *again = malloc(sizeof *ids * (size_t)(n + 1));
    int64_t m = -1;
    if (ent_vocab_encode(v, text, ids, n, &m) != ENT_OK || m != n) fuzz_fail("encode counted another length");
    if (n > 0 && (ent_vocab_encode(v, text, ids, n - 1, &m) != ENT_EINVAL || m != n))
        fuzz_fail("encode into too few ids did not fail");
    const int64_t len = ent_vocab_decode(v, ids, n, NULL, 0);
    if (len < 0) fuzz_fail("encoded ids do not decode");
    char *back = malloc((size_t)len + 1);
    if (ent_vocab_decode(v, ids, n, back, (size_t)len + 1) != len || strlen(back) != (size_t)len)
        fuzz_fail("decode measured another length");
    if (ent_vocab_kind_of(v) == ENT_VOCAB_CHARS && strcmp(back, text) != 0) fuzz_fail("characters decode to another text");
    if (ent_vocab_encode(v, back, again, n, &m) != ENT_OK || m != n || memcmp(ids, again, sizeof *ids * (size_t)n) != 0)
        fuzz_fail("a decoded text encodes to other ids");
    /* a buffer of half the length: the first half, NUL-terminated */
    const size_t cap = (size_t)len / 2 + 1;
    char *cut = malloc(cap);
    if (ent_vocab_decode(v, ids, n, cut, cap) != len || strlen(cut) != cap - 1 || memcmp(cut, back, cap - 1) != 0)
        fuzz_fail("decode into a short buffer is not the text's prefix");
    free(cut), free(back), free(again), free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    const uint8_t *a, *b;
    size_t na, nb;
    fuzz_split(data, n, &a, &na, &b, &nb);
    char *json = c_string(a, na), *text = c_string(b, nb);
    ent_vocab *v = NULL;
    if (ent_vocab_from_json(&v, json, "fuzz.safetensors") == ENT_OK) {
        if (ent_vocab_size(v) < 1) fuzz_fail("a vocabulary without tokens");
        fuzz_vocab_roundtrip(v);
        prime(v, text);
        ent_vocab_free(v);
    } else {
        if (v) fuzz_fail("a failed read left a vocabulary");
        fuzz_one_line("ent_vocab_from_json");
    }
    free(json), free(text);
    return 0;
}
