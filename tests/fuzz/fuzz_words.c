/* fuzz_words.c — the PTB word corpus loader (--dataset ptb). It reads a
 * folder of three files, so the input is split in three (fuzz_split twice:
 * ptb.train.txt, then ptb.valid.txt and ptb.test.txt) and written into a
 * private temporary folder, made once and removed at exit. What loads is
 * checked against the words' own text: each split, decoded through the
 * vocabulary and encoded again (as a --prime text is), gives back its ids;
 * "<eos>" is in the vocabulary; the vocabulary survives its checkpoint
 * JSON. What fails is ENT_EFORMAT with a one-line message. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static const char *const files[3] = {"ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"};
static char dir[64];

static void remove_dir(void) {
    char p[128];
    for (int k = 0; k < 3; k++) snprintf(p, sizeof p, "%s/%s", dir, files[k]), unlink(p);
    rmdir(dir);
}

/* /dev/shm when there is one: a file write per input stays in memory */
static int make_dir(void) {
    snprintf(dir, sizeof dir, "/dev/shm/fuzz_words.XXXXXX");
    if (!mkdtemp(dir)) {
        snprintf(dir, sizeof dir, "/tmp/fuzz_words.XXXXXX");
        if (!mkdtemp(dir)) return 0;
    }
    atexit(remove_dir);
    return 1;
}

static int put(const char *file, const uint8_t *data, size_t n) {
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    const int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return 0;
    size_t done = 0;
    while (done < n) {
        const ssize_t w = write(fd, data + done, n - done);
        if (w <= 0) break;
        done += (size_t)w;
    }
    close(fd);
    return done == n;
}

/* ids -> text -> ids, as `entropic sample --prime` encodes a text */
static void reencode(const ent_vocab *v, const ent_tokens *t) {
    const int64_t len = ent_vocab_decode(v, t->ids, t->n, NULL, 0);
    if (len < 0) fuzz_fail("a split does not decode");
    char *text = malloc((size_t)len + 1);
    int32_t *ids = malloc(sizeof *ids * (size_t)t->n);
    int64_t m = 0;
    if (ent_vocab_decode(v, t->ids, t->n, text, (size_t)len + 1) != len) fuzz_fail("decode measured another length");
    if (ent_vocab_encode(v, text, ids, t->n, &m) != ENT_OK || m != t->n ||
        memcmp(ids, t->ids, sizeof *ids * (size_t)m) != 0) {
        fprintf(stderr, "%s\n", text);
        fuzz_fail("a decoded split does not encode back to its ids");
    }
    free(ids);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    static int ready = -1;
    if (ready < 0) ready = make_dir();
    if (!ready) return 0;
    const uint8_t *part[3], *rest;
    size_t len[3], n_rest;
    fuzz_split(data, n, &part[0], &len[0], &rest, &n_rest);
    fuzz_split(rest, n_rest, &part[1], &len[1], &part[2], &len[2]);
    for (int k = 0; k < 3; k++)
        if (!put(files[k], part[k], len[k])) return 0;
    ent_vocab *v = NULL;
    ent_tokens *t[3] = {NULL, NULL, NULL};
    const ent_status s = ent_words_load_dir(dir, &v, &t[0], &t[1], &t[2]);
    if (s != ENT_OK) {
        if (s != ENT_EFORMAT || v || t[0] || t[1] || t[2]) fuzz_fail("a failed load: not EFORMAT, or parts left");
        fuzz_one_line("ent_words_load_dir");
        return 0;
    }
    if (ent_vocab_kind_of(v) != ENT_VOCAB_WORDS || ent_vocab_find(v, "<eos>", 5) < 0)
        fuzz_fail("a word vocabulary without <eos>");
    for (int k = 0; k < 3; k++) {
        if (t[k]->n < 2) fuzz_fail("a split of fewer than 2 tokens");
        fuzz_ids_inside(v, t[k]);
        reencode(v, t[k]);
    }
    /* the vocabulary is the training file's words, by count descending,
     * ties in byte order: recount them from the ids */
    const int64_t size = ent_vocab_size(v);
    int64_t *count = calloc((size_t)size, sizeof *count);
    for (int64_t i = 0; i < t[0]->n; i++) count[t[0]->ids[i]]++;
    for (int32_t i = 0; i < size; i++)
        if (count[i] == 0 || (i > 0 && (count[i] > count[i - 1] ||
                                         (count[i] == count[i - 1] &&
                                          strcmp(ent_vocab_token(v, i - 1), ent_vocab_token(v, i)) >= 0))))
            fuzz_fail("the vocabulary is not the training words by count, then bytes");
    free(count);
    fuzz_vocab_roundtrip(v);
    for (int k = 0; k < 3; k++) ent_tokens_free(t[k]);
    ent_vocab_free(v);
    return 0;
}
