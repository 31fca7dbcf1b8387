/* text.c — a character corpus: any UTF-8 file. The tokens are its code
 * points; the vocabulary is every distinct character of the whole file in
 * code point order (as char-rnn builds it, so valid and test have no
 * unknown characters), and the splits are the first 80%, the next 10% and
 * the last 10% of the character stream, in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/text_internal.h"

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The file's characters as strmap indices (m collects the distinct ones). */
static ent_status decode_chars(const char *path, const char *text, size_t len, ent_strmap *m, int32_t *idx,
                               int64_t *n) {
    *n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        const int k = ent_utf8_next((const unsigned char *)text + i, len - i, &cp);
        if (!k) return ent_utf8_require(text, len, path); /* names the offset */
        const int64_t id = ent_strmap_add(m, text + i, (size_t)k);
        if (id < 0) return ENT_ENOMEM;
        idx[(*n)++] = (int32_t)id;
        i += (size_t)k;
    }
    return ENT_OK;
}

/* Tokens from .. to of the stream as a split named "<file>:<split>". */
static ent_tokens *split_of(const int32_t *ids, int64_t from, int64_t to, const char *path, const char *split) {
    char name[96];
    snprintf(name, sizeof name, "%.50s:%s", base_name(path), split);
    ent_tokens *t = ent_tokens_new(to - from, name);
    if (!t) return NULL;
    memcpy(t->ids, ids + from, sizeof(int32_t) * (size_t)(to - from));
    t->n = to - from;
    return t;
}

static ent_status read_text(const char *path, char **text, size_t *len) {
    ent_status s = ent_read_file(path, text, len);
    if (s == ENT_ENOENT)
        return ent_fail(s, "%s: no such file (the character corpus: --text FILE, any UTF-8 text; the default %s/brown.txt: %s)",
                        path, ENT_TEXT_DEFAULT_DIR, ENT_TEXT_SETUP_HINT);
    if (s != ENT_OK) return s;
    if (*len == 0) {
        free(*text);
        *text = NULL;
        return ent_fail(ENT_EFORMAT, "%s: empty file (no characters)", path);
    }
    s = ent_utf8_require(*text, *len, path);
    if (s != ENT_OK) free(*text), *text = NULL;
    return s;
}

/* The stream cut 80/10/10 into out[3], each of at least 2 tokens (an input
 * and its next one). */
static ent_status cut(const char *path, const int32_t *ids, int64_t n, ent_tokens *out[3]) {
    static const char *const names[3] = {"train", "valid", "test"};
    const int64_t at[4] = {0, n * 8 / 10, n * 9 / 10, n};
    for (int k = 0; k < 3; k++)
        if (at[k + 1] - at[k] < 2)
            return ent_fail(ENT_EFORMAT, "%s: %lld characters leave the %s split %lld (80/10/10); it needs at least 2",
                            path, (long long)n, names[k], (long long)(at[k + 1] - at[k]));
    for (int k = 0; k < 3; k++)
        if (!(out[k] = split_of(ids, at[k], at[k + 1], path, names[k]))) return ENT_ENOMEM;
    return ENT_OK;
}

ent_status ent_text_load(const char *path, ent_vocab **vocab, ent_tokens **train, ent_tokens **valid,
                         ent_tokens **test) {
    if (!vocab) return ent_fail(ENT_EINVAL, "ent_text_load: NULL vocabulary");
    *vocab = NULL;
    if (train) *train = NULL;
    if (valid) *valid = NULL;
    if (test) *test = NULL;
    char dflt[600];
    if (!path || !*path) {
        snprintf(dflt, sizeof dflt, "%s/brown.txt", ENT_TEXT_DEFAULT_DIR);
        path = dflt;
    }
    char *text = NULL;
    size_t len = 0;
    ent_status s = read_text(path, &text, &len);
    if (s != ENT_OK) return s;
    ent_strmap chars = {0};
    int32_t *idx = malloc(sizeof(int32_t) * len); /* at most one character per byte */
    int64_t n = 0, *order = NULL;
    ent_tokens *split[3] = {NULL, NULL, NULL};
    s = idx ? decode_chars(path, text, len, &chars, idx, &n) : ent_fail(ENT_ENOMEM, "%s: out of memory", path);
    if (s == ENT_OK) s = cut(path, idx, n, split);
    if (s == ENT_OK && !(order = ent_strmap_order(&chars, 0))) s = ENT_ENOMEM;
    if (s == ENT_OK) s = ent_vocab_make(vocab, ENT_VOCAB_CHARS, &chars, order, chars.n);
    if (s == ENT_OK) {
        /* strmap index -> id: the rank in code point order */
        int32_t *rank = (int32_t *)idx; /* reuse: the splits hold their copies */
        for (int64_t r = 0; r < chars.n; r++) rank[order[r]] = (int32_t)r;
        for (int k = 0; k < 3; k++)
            for (int64_t i = 0; i < split[k]->n; i++) split[k]->ids[i] = rank[split[k]->ids[i]];
    }
    ent_tokens **want[3] = {train, valid, test};
    for (int k = 0; k < 3; k++) {
        if (s == ENT_OK && want[k]) *want[k] = split[k];
        else ent_tokens_free(split[k]);
    }
    free(order), free(idx), free(text);
    ent_strmap_free(&chars);
    return s;
}
