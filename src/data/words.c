/* words.c — word corpora in the Penn Treebank's form (ptb.train.txt,
 * ptb.valid.txt, ptb.test.txt): words separated by white space, and the
 * word "<eos>" after every line, as the standard PTB readers do. The
 * vocabulary is the training file's words, most frequent first, ties in
 * byte order; a word of valid or test outside it is an error (the real
 * files already write rare words as "<unk>"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/text_internal.h"

#define EOS "<eos>"

static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* What each word of a file becomes: counted into the vocabulary to be
 * (training file), or looked up in the vocabulary (valid, test). */
typedef struct {
    const char *path;
    ent_strmap *count;   /* training: every word added */
    const ent_vocab *v;  /* valid, test: words looked up */
    ent_tokens *t;
} reader;

static ent_status word(reader *r, const char *w, size_t len, int64_t line) {
    int64_t id;
    if (r->count) {
        if ((id = ent_strmap_add(r->count, w, len)) < 0) return ENT_ENOMEM;
    } else if ((id = ent_vocab_find(r->v, w, len)) < 0) {
        return ent_fail(ENT_EFORMAT, "%s:%lld: word '%.*s' is not in the training file's vocabulary", r->path,
                        (long long)line, (int)(len > 60 ? 60 : len), w);
    }
    r->t->ids[r->t->n++] = (int32_t)id;
    return ENT_OK;
}

/* Every line: its words, then <eos>. A last line without a newline counts;
 * nothing after the final newline does. */
static ent_status split_words(reader *r, const char *text, size_t len) {
    int64_t line = 1;
    for (size_t i = 0; i < len;) {
        size_t e = i;
        if (text[i] == '\n' || is_space((unsigned char)text[i])) {
            if (text[i] == '\n') {
                ent_status s = word(r, EOS, strlen(EOS), line++);
                if (s != ENT_OK) return s;
            }
            i++;
            continue;
        }
        while (e < len && text[e] != '\n' && !is_space((unsigned char)text[e])) e++;
        ent_status s = word(r, text + i, e - i, line);
        if (s != ENT_OK) return s;
        i = e;
    }
    return len > 0 && text[len - 1] != '\n' ? word(r, EOS, strlen(EOS), line) : ENT_OK;
}

/* Upper bound on a file's tokens: a word needs a byte and each line an <eos>. */
static int64_t max_tokens(const char *text, size_t len) {
    int64_t n = 1;
    for (size_t i = 0; i < len; i++) n += 1 + (text[i] == '\n');
    return n;
}

static ent_status read_words(reader *r, const char *dir, const char *file) {
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    r->path = path;
    char *text = NULL;
    size_t len = 0;
    ent_status s = ent_read_file(path, &text, &len);
    if (s == ENT_ENOENT)
        return ent_fail(s, "%s: no such file (the word corpus: --data-dir with ptb.train.txt, ptb.valid.txt, "
                           "ptb.test.txt; the default folder %s: %s)", path, ENT_TEXT_DEFAULT_DIR, ENT_TEXT_SETUP_HINT);
    if (s != ENT_OK) return s;
    if (len == 0) s = ent_fail(ENT_EFORMAT, "%s: empty file (no words)", path);
    if (s == ENT_OK) s = ent_utf8_require(text, len, path);
    if (s == ENT_OK && !(r->t = ent_tokens_new(max_tokens(text, len), file))) s = ENT_ENOMEM;
    if (s == ENT_OK) s = split_words(r, text, len);
    if (s == ENT_OK && r->t->n < 2)
        s = ent_fail(ENT_EFORMAT, "%s: %lld token(s); a split needs at least 2", path, (long long)r->t->n);
    free(text);
    r->path = NULL; /* path is local */
    if (s != ENT_OK) ent_tokens_free(r->t), r->t = NULL;
    return s;
}

/* The training file: its words counted, then renumbered by vocabulary rank. */
static ent_status read_train(const char *dir, ent_vocab **vocab, ent_tokens **train) {
    ent_strmap count = {0};
    reader r = {.count = &count};
    ent_status s = read_words(&r, dir, "ptb.train.txt");
    int64_t *order = NULL;
    int32_t *rank = NULL;
    if (s == ENT_OK && (!(order = ent_strmap_order(&count, 1)) || !(rank = malloc(sizeof *rank * (size_t)count.n))))
        s = ent_fail(ENT_ENOMEM, "%s/ptb.train.txt: out of memory", dir);
    if (s == ENT_OK) s = ent_vocab_make(vocab, ENT_VOCAB_WORDS, &count, order, count.n);
    if (s == ENT_OK) {
        for (int64_t k = 0; k < count.n; k++) rank[order[k]] = (int32_t)k;
        for (int64_t i = 0; i < r.t->n; i++) r.t->ids[i] = rank[r.t->ids[i]];
        *train = r.t;
    } else {
        ent_tokens_free(r.t);
    }
    free(order), free(rank);
    ent_strmap_free(&count);
    return s;
}

ent_status ent_words_load_dir(const char *dir, ent_vocab **vocab, ent_tokens **train, ent_tokens **valid,
                              ent_tokens **test) {
    if (!vocab) return ent_fail(ENT_EINVAL, "ent_words_load_dir: NULL vocabulary");
    *vocab = NULL;
    if (train) *train = NULL;
    if (valid) *valid = NULL;
    if (test) *test = NULL;
    if (!dir || !*dir) dir = ENT_TEXT_DEFAULT_DIR;
    ent_tokens *split[3] = {NULL, NULL, NULL};
    ent_status s = read_train(dir, vocab, &split[0]);
    static const char *const other[2] = {"ptb.valid.txt", "ptb.test.txt"};
    for (int k = 0; k < 2 && s == ENT_OK; k++) {
        reader r = {.v = *vocab};
        s = read_words(&r, dir, other[k]);
        split[k + 1] = r.t;
    }
    ent_tokens **want[3] = {train, valid, test};
    for (int k = 0; k < 3; k++) {
        if (s == ENT_OK && want[k]) *want[k] = split[k];
        else ent_tokens_free(split[k]);
    }
    if (s != ENT_OK) ent_vocab_free(*vocab), *vocab = NULL;
    return s;
}
