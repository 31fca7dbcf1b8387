/* test_text.c — text data: the character corpus (vocabulary in code point
 * order from the whole file, 80/10/10 splits, every character id back to
 * its bytes), the PTB word loader (<eos> per line, count order with ties
 * in byte order, unknown words named), the vocabulary's JSON round trip
 * and its checks, text to ids and back, and every bad input: empty,
 * invalid UTF-8 (with its offset), NUL, too small, missing. */
#include <stdlib.h>
#include <string.h>

#include "test.h"

static void write_bytes(const char *path, const char *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK_MSG(f != NULL, "cannot write %s", path);
    if (!f) return;
    if (n) fwrite(bytes, 1, n, f);
    fclose(f);
}

static void write_text(const char *path, const char *text) { write_bytes(path, text, strlen(text)); }

/* The test's own UTF-8 encoder: bytes of cp into out, their count. */
static int utf8(uint32_t cp, char *out) {
    if (cp < 0x80) return out[0] = (char)cp, 1;
    if (cp < 0x800) return out[0] = (char)(0xC0 | cp >> 6), out[1] = (char)(0x80 | (cp & 63)), 2;
    if (cp < 0x10000)
        return out[0] = (char)(0xE0 | cp >> 12), out[1] = (char)(0x80 | (cp >> 6 & 63)), out[2] = (char)(0x80 | (cp & 63)), 3;
    out[0] = (char)(0xF0 | cp >> 18), out[1] = (char)(0x80 | (cp >> 12 & 63));
    out[2] = (char)(0x80 | (cp >> 6 & 63)), out[3] = (char)(0x80 | (cp & 63));
    return 4;
}

static int cmp_u32(const void *a, const void *b) {
    const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The failure of a load: its status and that the message names `what`. */
#define CHECK_FAILS(expr, status, what)                                                              \
    do {                                                                                             \
        const ent_status s_ = (expr);                                                                \
        CHECK_MSG(s_ == (status), "%s -> %s, want %s", #expr, ent_status_name(s_), ent_status_name(status)); \
        CHECK_MSG(strstr(ent_last_error(), what) != NULL, "message lacks '%s': %s", what, ent_last_error()); \
        CHECK_MSG(strchr(ent_last_error(), '\n') == NULL, "message is not one line: %s", ent_last_error()); \
    } while (0)

enum { NCH = 1000 };

ENT_TEST(text_chars_vocab_and_splits) {
    /* control characters, quotes, backslash, 2-, 3- and 4-byte characters */
    static const uint32_t pool[] = {'\n', '\t', ' ', '"', '\\', '/', 'a', 'Z', 0x7f, 0xe9, 0x416, 0x20ac, 0xfeff, 0x1d11e, 0x10ffff};
    const int n_pool = (int)(sizeof pool / sizeof pool[0]);
    uint32_t cps[NCH], sorted[NCH];
    char *text = malloc(4 * NCH);
    size_t len = 0;
    ent_rng r;
    ent_rng_init(&r, 11, 0);
    for (int i = 0; i < NCH; i++) {
        cps[i] = pool[i < n_pool ? i : (int)ent_rng_below(&r, (uint64_t)n_pool - 2)]; /* the last two once only */
        len += (size_t)utf8(cps[i], text + len);
    }
    char path[600];
    snprintf(path, sizeof path, "%s/corpus.txt", ent_test_tmpdir());
    write_bytes(path, text, len);
    ent_vocab *v = NULL;
    ent_tokens *t[3] = {NULL, NULL, NULL};
    CHECK_OK(ent_text_load(path, &v, &t[0], &t[1], &t[2]));
    if (!v || !t[0] || !t[1] || !t[2]) goto done;
    /* the vocabulary: the distinct characters in code point order */
    memcpy(sorted, cps, sizeof cps);
    qsort(sorted, NCH, sizeof *sorted, cmp_u32);
    int64_t distinct = 0;
    for (int i = 0; i < NCH; i++)
        if (i == 0 || sorted[i] != sorted[i - 1]) sorted[distinct++] = sorted[i];
    CHECK(ent_vocab_kind_of(v) == ENT_VOCAB_CHARS && ent_vocab_size(v) == distinct && distinct == n_pool);
    for (int64_t k = 0; k < distinct && k < ent_vocab_size(v); k++) {
        char want[5] = {0};
        want[utf8(sorted[k], want)] = 0;
        CHECK_MSG(strcmp(ent_vocab_token(v, (int32_t)k), want) == 0, "token %lld is not U+%04X", (long long)k,
                  (unsigned)sorted[k]);
        CHECK(ent_vocab_find(v, want, strlen(want)) == (int32_t)k);
    }
    CHECK(ent_vocab_token(v, -1) == NULL && ent_vocab_token(v, (int32_t)distinct) == NULL);
    /* 80/10/10 in order; every id is its character */
    const int64_t at[4] = {0, NCH * 8 / 10, NCH * 9 / 10, NCH};
    for (int k = 0; k < 3; k++) {
        CHECK(t[k]->n == at[k + 1] - at[k]);
        for (int64_t i = 0; i < t[k]->n; i++) {
            const char *tok = ent_vocab_token(v, t[k]->ids[i]);
            char want[5];
            const int wl = utf8(cps[at[k] + i], want);
            CHECK_MSG(tok && (int)strlen(tok) == wl && memcmp(tok, want, (size_t)wl) == 0, "split %d token %lld", k,
                      (long long)i);
        }
    }
    CHECK(strstr(t[0]->name, "corpus.txt") && strstr(t[1]->name, "valid"));
    /* the JSON round trip keeps every token and their order */
    char *json = ent_vocab_to_json(v);
    ent_vocab *back = NULL;
    CHECK(json != NULL);
    CHECK_OK(ent_vocab_from_json(&back, json, "ckpt.safetensors"));
    CHECK(back && ent_vocab_kind_of(back) == ENT_VOCAB_CHARS && ent_vocab_size(back) == distinct);
    for (int32_t k = 0; back && k < distinct; k++) CHECK(strcmp(ent_vocab_token(back, k), ent_vocab_token(v, k)) == 0);
    ent_vocab_free(back);
    free(json);
    /* only NULL wanted for valid and test */
    ent_tokens_free(t[0]), t[0] = NULL;
    ent_vocab_free(v), v = NULL;
    CHECK_OK(ent_text_load(path, &v, &t[0], NULL, NULL));
    CHECK(t[0] && t[0]->n == at[1]);
done:
    for (int k = 0; k < 3; k++) ent_tokens_free(t[k]);
    ent_vocab_free(v);
    free(text);
}

ENT_TEST(text_chars_bad_files) {
    const char *dir = ent_test_tmpdir();
    char path[600];
    ent_vocab *v = NULL;
    ent_tokens *t = NULL;
    snprintf(path, sizeof path, "%s/bad.txt", dir);
    static const struct {
        const char *bytes;
        size_t n;
        const char *what;
    } bad[] = {
        {"", 0, "empty"},
        {"abcdefghijklmnopqrstuvwxyz\xff", 27, "byte offset 26"},
        {"abcdefghijklmnopqrstuvwxyz\xc0\x80", 28, "byte offset 26"},     /* overlong NUL */
        {"abcdefghijklmnopqrstuvwxyz\xed\xa0\x80", 29, "byte offset 26"}, /* a surrogate */
        {"abcdefghijklmnopqrstuvwxyz\xf4\x90\x80\x80", 30, "byte offset 26"}, /* above U+10FFFF */
        {"abcdefghijklmnopqrstuvwxyz\xe2\x82", 28, "byte offset 26"},     /* cut at the end */
        {"ab\ncd\x80xyzxyzxyzxyzxyzxyzxyz", 27, "line 2"},
        {"abcdefghijklm\0nopqrstuvwxyz", 27, "NUL byte at byte offset 13"},
        {"abcdefghijklmn", 14, "valid split 1"}, /* 14 characters: 11, 1, 2 */
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        write_bytes(path, bad[k].bytes, bad[k].n);
        CHECK_FAILS(ent_text_load(path, &v, &t, NULL, NULL), ENT_EFORMAT, bad[k].what);
        CHECK_MSG(strstr(ent_last_error(), "bad.txt") != NULL, "case %zu: no file name: %s", k, ent_last_error());
        CHECK(v == NULL && t == NULL);
    }
    snprintf(path, sizeof path, "%s/missing.txt", dir);
    CHECK_FAILS(ent_text_load(path, &v, &t, NULL, NULL), ENT_ENOENT, "missing.txt");
    CHECK_MSG(strstr(ent_last_error(), "scripts/setup.sh") != NULL, "no setup hint: %s", ent_last_error());
}

/* A PTB-style folder with these three files. */
static const char *ptb_dir(const char *name, const char *train, const char *valid, const char *test) {
    static char dir[600];
    char path[700];
    snprintf(dir, sizeof dir, "%s/%s", ent_test_tmpdir(), name);
    ent_test_run(NULL, 0, "mkdir -p %s", dir);
    const char *text[3] = {train, valid, test}, *file[3] = {"ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"};
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, file[k]);
        if (text[k]) write_text(path, text[k]);
    }
    return dir;
}

ENT_TEST(text_words_ptb_files) {
    /* as the real files: a leading space, a trailing space; a last line without its newline */
    const char *train = " b a c\n c\tb  a b b \n\nzz\r\n a", *valid = "a b\n<eos> c\n", *test = " zz \n";
    const char *dir = ptb_dir("ptb", train, valid, test);
    ent_vocab *v = NULL;
    ent_tokens *t[3] = {NULL, NULL, NULL};
    CHECK_OK(ent_words_load_dir(dir, &v, &t[0], &t[1], &t[2]));
    if (!v || !t[0] || !t[1] || !t[2]) goto done;
    /* counts: <eos> 5, b 4, a 3, c 2, zz 1; ties by byte order ("<" < "a") */
    static const char *const order[] = {"<eos>", "b", "a", "c", "zz"};
    CHECK(ent_vocab_kind_of(v) == ENT_VOCAB_WORDS && ent_vocab_size(v) == 5);
    for (int32_t k = 0; k < 5 && k < ent_vocab_size(v); k++)
        CHECK_MSG(strcmp(ent_vocab_token(v, k), order[k]) == 0, "word %d is '%s', want '%s'", k, ent_vocab_token(v, k), order[k]);
    const char *want[3] = {"b a c <eos> c b a b b <eos> <eos> zz <eos> a <eos>", "a b <eos> <eos> c <eos>", "zz <eos>"};
    for (int k = 0; k < 3; k++) {
        char got[256] = "";
        for (int64_t i = 0; i < t[k]->n; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? " " : "", ent_vocab_token(v, t[k]->ids[i]));
        CHECK_MSG(strcmp(got, want[k]) == 0, "split %d: '%s', want '%s'", k, got, want[k]);
    }
    CHECK(strcmp(t[1]->name, "ptb.valid.txt") == 0);
    /* a word vocabulary's JSON round trip */
    char *json = ent_vocab_to_json(v);
    ent_vocab *back = NULL;
    CHECK_OK(ent_vocab_from_json(&back, json, "w.json"));
    CHECK(back && ent_vocab_kind_of(back) == ENT_VOCAB_WORDS && ent_vocab_size(back) == 5);
    for (int32_t k = 0; back && k < 5; k++) CHECK(strcmp(ent_vocab_token(back, k), order[k]) == 0);
    ent_vocab_free(back);
    free(json);
done:
    for (int k = 0; k < 3; k++) ent_tokens_free(t[k]);
    ent_vocab_free(v);
}

ENT_TEST(text_words_bad_files) {
    ent_vocab *v = NULL;
    ent_tokens *t = NULL;
    const char *dir = ptb_dir("unknown", "a b\nb c\n", "a b\nc dog b\n", "a\n");
    CHECK_FAILS(ent_words_load_dir(dir, &v, &t, NULL, NULL), ENT_EFORMAT, "ptb.valid.txt:2: word 'dog'");
    CHECK(v == NULL && t == NULL);
    dir = ptb_dir("unknown_test", "a b\n", "a\n", "b\n\n\nA\n");
    CHECK_FAILS(ent_words_load_dir(dir, &v, &t, NULL, NULL), ENT_EFORMAT, "ptb.test.txt:4: word 'A'");
    dir = ptb_dir("empty", "a b\n", "", "a\n");
    CHECK_FAILS(ent_words_load_dir(dir, &v, NULL, NULL, NULL), ENT_EFORMAT, "ptb.valid.txt: empty");
    dir = ptb_dir("short", "a b\n", "a\n", "\n");
    CHECK_FAILS(ent_words_load_dir(dir, &v, NULL, NULL, NULL), ENT_EFORMAT, "ptb.test.txt: 1 token");
    dir = ptb_dir("utf8", "a b\nc \xe2\x28\xa1\n", "a\n", "a\n");
    CHECK_FAILS(ent_words_load_dir(dir, &v, NULL, NULL, NULL), ENT_EFORMAT, "ptb.train.txt: invalid UTF-8 at byte offset 6");
    dir = ptb_dir("missing", "a b\n", NULL, "a\n");
    CHECK_FAILS(ent_words_load_dir(dir, &v, NULL, NULL, NULL), ENT_ENOENT, "missing/ptb.valid.txt");
    CHECK_MSG(strstr(ent_last_error(), "scripts/setup.sh") != NULL, "no setup hint: %s", ent_last_error());
    CHECK(v == NULL);
}

ENT_TEST(text_vocab_json_checks) {
    static const struct {
        const char *json, *what;
    } bad[] = {
        {"[]", "not a JSON object"},
        {"{\"kind\": \"bytes\", \"tokens\": [\"a\"]}", "\"kind\""},
        {"{\"kind\": \"chars\"}", "\"tokens\""},
        {"{\"kind\": \"chars\", \"tokens\": []}", "non-empty"},
        {"{\"kind\": \"chars\", \"tokens\": [\"a\", \"\\n\", \"a\"]}", "tokens 0 and 2 are the same"},
        {"{\"kind\": \"words\", \"tokens\": [\"the\", \"th\\u00e9\", \"th\\u00e9\"]}", "tokens 1 and 2"},
        {"{\"kind\": \"chars\", \"tokens\": [\"ab\"]}", "more than one character"},
        {"{\"kind\": \"words\", \"tokens\": [\"a b\"]}", "white space"},
        {"{\"kind\": \"words\", \"tokens\": [\"\"]}", "empty token"},
        {"{\"kind\": \"words\", \"tokens\": [1]}", "not a string"},
        {"{\"kind\": \"words\", \"tokens\": [\"\xff\"]}", "not UTF-8"},
        {"{\"kind\": \"words\", \"tokens\": [\"a\"], \"extra\": 1}", "unknown vocabulary key"},
        {"{\"kind\": \"words\", \"tokens\": [\"a\"]", "vocabulary: JSON"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ent_vocab *v = (ent_vocab *)1;
        CHECK_FAILS(ent_vocab_from_json(&v, bad[k].json, "run/checkpoint.safetensors"), ENT_EFORMAT, bad[k].what);
        CHECK_MSG(strstr(ent_last_error(), "run/checkpoint.safetensors") != NULL, "case %zu lacks what: %s", k,
                  ent_last_error());
        CHECK(v == NULL);
    }
    /* escapes: the writer's output reads back to the same bytes */
    ent_vocab *v = NULL;
    CHECK_OK(ent_vocab_from_json(&v, "{\"kind\": \"chars\", \"tokens\": [\"\\\"\", \"\\\\\", \"\\n\", \"\\u0001\", "
                                     "\"\\u007f\", \"\xc3\xa9\", \"\\ud834\\udd1e\", \"/\"]}", "x"));
    char *json = v ? ent_vocab_to_json(v) : NULL;
    ent_vocab *back = NULL;
    CHECK_OK(ent_vocab_from_json(&back, json, "x"));
    static const char *const want[] = {"\"", "\\", "\n", "\x01", "\x7f", "\xc3\xa9", "\xf0\x9d\x84\x9e", "/"};
    CHECK(back && ent_vocab_size(back) == 8);
    for (int32_t k = 0; back && k < 8; k++) CHECK_MSG(strcmp(ent_vocab_token(back, k), want[k]) == 0, "token %d", k);
    free(json);
    ent_vocab_free(back);
    ent_vocab_free(v);
}

ENT_TEST(text_encode_decode) {
    ent_vocab *c = NULL, *w = NULL;
    CHECK_OK(ent_vocab_from_json(&c, "{\"kind\": \"chars\", \"tokens\": [\"\\n\", \" \", \"a\", \"b\", \"\xc3\xa9\"]}", "c"));
    CHECK_OK(ent_vocab_from_json(&w, "{\"kind\": \"words\", \"tokens\": [\"<eos>\", \"the\", \"cat\", \"<unk>\"]}", "w"));
    if (!c || !w) goto done;
    int32_t ids[16];
    int64_t n = -1;
    char buf[64];
    CHECK_OK(ent_vocab_encode(c, "ab\xc3\xa9 a\n", ids, 16, &n));
    const int32_t want_c[] = {2, 3, 4, 1, 2, 0};
    CHECK(n == 6 && memcmp(ids, want_c, sizeof want_c) == 0);
    CHECK(ent_vocab_decode(c, ids, n, buf, sizeof buf) == 7 && strcmp(buf, "ab\xc3\xa9 a\n") == 0);
    CHECK(ent_vocab_decode(c, ids, n, buf, 4) == 7 && strcmp(buf, "ab\xc3") == 0); /* cut to fit, as snprintf */
    CHECK_FAILS(ent_vocab_encode(c, "abx", ids, 16, &n), ENT_EINVAL, "character 'x' (U+0078) at byte offset 2");
    CHECK_FAILS(ent_vocab_encode(c, "a\tb", ids, 16, &n), ENT_EINVAL, "U+0009 at byte offset 1");
    CHECK_FAILS(ent_vocab_encode(c, "a\xff", ids, 16, &n), ENT_EINVAL, "invalid UTF-8 at byte offset 1");
    CHECK_FAILS(ent_vocab_encode(c, "abab", ids, 3, &n), ENT_EINVAL, "4 tokens do not fit in 3");
    CHECK_OK(ent_vocab_encode(c, "abab", NULL, 0, &n));
    CHECK(n == 4);
    CHECK_OK(ent_vocab_encode(w, " the  cat\nthe <unk>", ids, 16, &n));
    const int32_t want_w[] = {1, 2, 0, 1, 3};
    CHECK(n == 5 && memcmp(ids, want_w, sizeof want_w) == 0);
    CHECK(ent_vocab_decode(w, ids, n, buf, sizeof buf) == 17 && strcmp(buf, "the cat\nthe <unk>") == 0);
    CHECK_FAILS(ent_vocab_encode(w, "the dog", ids, 16, &n), ENT_EINVAL, "word 'dog' at byte offset 4");
    const int32_t out_of_range[] = {1, 4};
    CHECK(ent_vocab_decode(w, out_of_range, 2, buf, sizeof buf) == -1);
    CHECK(strstr(ent_last_error(), "id 4") != NULL);
done:
    ent_vocab_free(c);
    ent_vocab_free(w);
}
