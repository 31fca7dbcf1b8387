/* test_text_robust.c — the text loaders on inputs nobody wrote on
 * purpose: every truncation of a vocabulary's JSON and of a UTF-8 file,
 * and random bytes (biased to UTF-8 lead and continuation bytes, white
 * space, '/' and '<') into the character and word loaders, the Brown
 * conversion and ids from text. Each call either succeeds with ids inside
 * its vocabulary or fails with a one-line message; the sanitizer build
 * checks that none reads out of bounds. */
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

static int ids_inside(const ent_vocab *v, const ent_tokens *t) {
    for (int64_t i = 0; t && i < t->n; i++)
        if (t->ids[i] < 0 || t->ids[i] >= ent_vocab_size(v)) return 0;
    return 1;
}

static int one_line(void) { return strchr(ent_last_error(), '\n') == NULL; }

ENT_TEST(text_truncated_inputs) {
    /* a vocabulary's JSON cut at every byte: only the whole text reads */
    ent_vocab *v = NULL;
    CHECK_OK(ent_vocab_from_json(&v, "{\"kind\": \"chars\", \"tokens\": [\"\\n\", \"\\\"\", \"\xc3\xa9\", \"\\ud834\\udd1e\"]}", "x"));
    char *json = v ? ent_vocab_to_json(v) : NULL;
    const size_t len = json ? strlen(json) : 0;
    int bad = 0;
    for (size_t cut = 0; json && cut + 1 < len; cut++) { /* the last byte is the writer's newline */
        char *part = malloc(cut + 1);
        memcpy(part, json, cut);
        part[cut] = 0;
        ent_vocab *w = NULL;
        const ent_status s = ent_vocab_from_json(&w, part, "cut.json");
        bad += s != ENT_EFORMAT || w != NULL || !strstr(ent_last_error(), "cut.json");
        ent_vocab_free(w);
        free(part);
    }
    CHECK_MSG(bad == 0, "%d truncations of the vocabulary's JSON did not fail with EFORMAT naming the file", bad);
    free(json);
    ent_vocab_free(v);
    /* a text file cut inside a character: the offset of that character */
    const char text[] = "aaaaaaaaaaaaaaaaaaaaaaaa\xf0\x9d\x84\x9e";
    char path[600], want[64];
    snprintf(path, sizeof path, "%s/cut.txt", ent_test_tmpdir());
    for (size_t cut = 25; cut < sizeof text - 1; cut++) {
        write_bytes(path, text, cut);
        ent_tokens *t = NULL;
        snprintf(want, sizeof want, "byte offset 24");
        CHECK(ent_text_load(path, &v, &t, NULL, NULL) == ENT_EFORMAT && strstr(ent_last_error(), want) && !v && !t);
    }
    write_bytes(path, text, sizeof text - 1);
    CHECK_OK(ent_text_load(path, &v, NULL, NULL, NULL));
    CHECK(v && ent_vocab_size(v) == 2);
    ent_vocab_free(v);
}

/* Valid pieces of text, and in one round of three a byte that breaks it. */
static size_t random_text(ent_rng *r, char *buf, size_t cap) {
    static const char *const piece[] = {"a", "b", "ab", " ", "\n", "\t", "/", "x/y", "<", "\xc3\xa9", "\xe2\x82\xac",
                                        "\xf0\x9d\x84\x9e"};
    static const char broken[] = {'\x80', '\xbf', '\xc0', '\xc3', '\xe2', '\xed', '\xf0', '\xf4', '\xff', 0};
    const size_t want = (size_t)ent_rng_below(r, cap - 4);
    size_t n = 0;
    while (n < want) {
        const char *p = piece[ent_rng_below(r, sizeof piece / sizeof piece[0])];
        memcpy(buf + n, p, strlen(p));
        n += strlen(p);
    }
    if (n && ent_rng_below(r, 3) == 0) buf[ent_rng_below(r, n)] = broken[ent_rng_below(r, sizeof broken)];
    return n;
}

ENT_TEST(text_random_bytes) {
    ent_rng r;
    ent_rng_init(&r, 2026, 0);
    const char *dir = ent_test_tmpdir();
    char base[600], path[700], buf[96];
    snprintf(base, sizeof base, "%s", dir);
    static const char *const ptb[3] = {"ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"};
    int ok_chars = 0, ok_words = 0, bad = 0;
    for (int round = 0; round < 150; round++) {
        const size_t n = random_text(&r, buf, sizeof buf);
        /* characters */
        snprintf(path, sizeof path, "%s/c.txt", base);
        write_bytes(path, buf, n);
        ent_vocab *v = NULL;
        ent_tokens *t[3] = {NULL, NULL, NULL};
        ent_status s = ent_text_load(path, &v, &t[0], &t[1], &t[2]);
        if (s == ENT_OK) ok_chars++, bad += !ids_inside(v, t[0]) || !ids_inside(v, t[1]) || !ids_inside(v, t[2]);
        else bad += s != ENT_EFORMAT || !one_line() || v || t[0];
        /* ids from the same bytes as a NUL-terminated text, through that vocabulary */
        if (v) {
            char z[sizeof buf + 1];
            memcpy(z, buf, n), z[n] = 0;
            int32_t ids[sizeof buf];
            int64_t k = 0;
            s = ent_vocab_encode(v, z, ids, (int64_t)sizeof buf, &k);
            bad += s != ENT_OK && (s != ENT_EINVAL || !one_line());
        }
        for (int k = 0; k < 3; k++) ent_tokens_free(t[k]), t[k] = NULL;
        ent_vocab_free(v), v = NULL;
        /* words: the same bytes as train, pieces of them as valid and test */
        for (int k = 0; k < 3; k++) {
            snprintf(path, sizeof path, "%s/%s", base, ptb[k]);
            write_bytes(path, buf, k ? (size_t)ent_rng_below(&r, n + 1) : n);
        }
        s = ent_words_load_dir(base, &v, &t[0], &t[1], &t[2]);
        if (s == ENT_OK) ok_words++, bad += !ids_inside(v, t[0]) || !ids_inside(v, t[1]) || !ids_inside(v, t[2]);
        else bad += (s != ENT_EFORMAT) || !one_line() || v;
        for (int k = 0; k < 3; k++) ent_tokens_free(t[k]);
        ent_vocab_free(v);
        /* the same bytes as a Brown document (one round in ten: the outputs are written with fsync) */
        if (round % 10) continue;
        snprintf(path, sizeof path, "%s/ca01", base);
        write_bytes(path, buf, n);
        snprintf(path, sizeof path, "%s/out", base);
        s = ent_brown_to_ptb(base, path, 3);
        bad += s != ENT_OK && (s != ENT_EFORMAT || !one_line());
    }
    CHECK_MSG(bad == 0, "%d random inputs gave a wrong status, a message of several lines or ids outside the vocabulary", bad);
    CHECK_MSG(ok_chars > 10 && ok_words > 10, "too few random inputs loaded (%d characters, %d words) to test much", ok_chars,
              ok_words);
}

/* fuzz_vocab's findings (tests/fuzz/corpus/vocab/duplicate_newline and
 * key_newline): a token or key with a line end (escaped in the JSON) went
 * into the message as it is, so the one-line message had a line break.
 * They are shown as JSON escapes, at most 40 bytes, cut before a character. */
ENT_TEST(text_vocab_message_one_line) {
    static const struct {
        const char *json, *want;
    } c[] = {
        {"{\"kind\": \"chars\", \"tokens\": [\"\\n\", \"a\", \"\\n\"]}", "tokens 0 and 2 are the same (\"\\n\")"},
        {"{\"kind\": \"chars\", \"tokens\": [\"\\u0001\", \"\\u0001\"]}", "tokens 0 and 1 are the same (\"\\u0001\")"},
        {"{\"kind\": \"chars\", \"tokens\": [\"\\u007f\", \"\\u007f\"]}", "(\"\\u007f\")"},
        {"{\"kind\": \"chars\", \"tokens\": [\"\\\"\", \"\\\"\"]}", "(\"\\\"\")"},
        {"{\"kind\": \"chars\", \"tokens\": [\"\xc3\xa9\", \"\xc3\xa9\"]}", "(\"\xc3\xa9\")"},
        {"{\"kind\": \"words\", \"tokens\": [\"the\", \"the\"]}", "(\"the\")"},
        {"{\"kind\": \"words\", \"tok\\ns\": [\"a\"]}", "unknown vocabulary key \"tok\\ns\""},
        /* 39 bytes, then a 2-byte character that would pass 40: cut before it */
        {"{\"kind\": \"words\", \"tokens\": [\"a\"], \"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\xc3\xa9xyz\": 1}",
         "key \"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...\""},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        ent_vocab *v = NULL;
        CHECK(ent_vocab_from_json(&v, c[i].json, "dup.safetensors") == ENT_EFORMAT && !v);
        CHECK_MSG(one_line() && strstr(ent_last_error(), c[i].want), "case %zu: '%s' (want '%s')", i,
                  ent_last_error(), c[i].want);
    }
}
