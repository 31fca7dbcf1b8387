/* vocab_text.c — text to ids and ids to text through a vocabulary, for
 * priming and printing a sequence model's samples. Characters: each code
 * point is a token. Words: white space separates words, and a line end is
 * the word "<eos>" when the vocabulary has it (as the PTB readers put one
 * at every line end). */
#include <stdio.h>
#include <string.h>

#include "data/text_internal.h"

#define EOS "<eos>"

static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* Store id number *n (when it fits) and count it. */
static void put_id(int32_t *ids, int64_t cap, int64_t *n, int32_t id) {
    if (ids && *n < cap) ids[*n] = id;
    (*n)++;
}

static ent_status encode_chars(const ent_vocab *v, const char *text, size_t len, int32_t *ids, int64_t cap,
                               int64_t *n) {
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        const int k = ent_utf8_next((const unsigned char *)text + i, len - i, &cp);
        if (!k) return ent_fail(ENT_EINVAL, "text: invalid UTF-8 at byte offset %zu", i);
        const int32_t id = ent_vocab_find(v, text + i, (size_t)k);
        if (id < 0) {
            if (cp >= 0x20 && cp != 0x7f)
                return ent_fail(ENT_EINVAL, "text: character '%.*s' (U+%04X) at byte offset %zu is not in the vocabulary",
                                k, text + i, (unsigned)cp, i);
            return ent_fail(ENT_EINVAL, "text: character U+%04X at byte offset %zu is not in the vocabulary",
                            (unsigned)cp, i);
        }
        put_id(ids, cap, n, id);
        i += (size_t)k;
    }
    return ENT_OK;
}

static ent_status encode_words(const ent_vocab *v, const char *text, size_t len, int32_t *ids, int64_t cap,
                               int64_t *n) {
    const int32_t eos = ent_vocab_find(v, EOS, strlen(EOS));
    for (size_t i = 0; i < len;) {
        if (text[i] == '\n' && eos >= 0) put_id(ids, cap, n, eos);
        if (is_space((unsigned char)text[i])) {
            i++;
            continue;
        }
        size_t e = i;
        while (e < len && !is_space((unsigned char)text[e])) e++;
        const int32_t id = ent_vocab_find(v, text + i, e - i);
        if (id < 0)
            return ent_fail(ENT_EINVAL, "text: word '%.*s' at byte offset %zu is not in the vocabulary",
                            (int)(e - i > 60 ? 60 : e - i), text + i, i);
        put_id(ids, cap, n, id);
        i = e;
    }
    return ENT_OK;
}

ent_status ent_vocab_encode(const ent_vocab *v, const char *text, int32_t *ids, int64_t cap, int64_t *n) {
    if (!v || !text || !n) return ent_fail(ENT_EINVAL, "ent_vocab_encode: NULL argument");
    *n = 0;
    const size_t len = strlen(text);
    const ent_status s = ent_vocab_kind_of(v) == ENT_VOCAB_CHARS
                             ? encode_chars(v, text, len, ids, cap, n)
                                             : encode_words(v, text, len, ids, cap, n);
    if (s != ENT_OK) return s;
    if (ids && *n > cap)
        return ent_fail(ENT_EINVAL, "text: %lld tokens do not fit in %lld ids", (long long)*n, (long long)cap);
    return ENT_OK;
}

/* Append s[0..len) to buf (cap bytes, kept NUL-terminated) at *at; *at
 * counts every byte, written or not. */
static void put_text(char *buf, size_t cap, size_t *at, const char *s, size_t len) {
    if (buf && *at + 1 < cap) {
        const size_t room = cap - 1 - *at;
        memcpy(buf + *at, s, len < room ? len : room);
    }
    *at += len;
}

int64_t ent_vocab_decode(const ent_vocab *v, const int32_t *ids, int64_t n, char *buf, size_t cap) {
    if (!v || (n > 0 && !ids)) {
        ent_fail(ENT_EINVAL, "ent_vocab_decode: NULL argument");
        return -1;
    }
    const int words = ent_vocab_kind_of(v) == ENT_VOCAB_WORDS;
    size_t at = 0;
    int line_start = 1; /* no space before a line's first word */
    for (int64_t i = 0; i < n; i++) {
        const char *tok = ent_vocab_token(v, ids[i]);
        if (!tok) {
            ent_fail(ENT_EINVAL, "id %lld (token %lld) is outside the vocabulary of %lld", (long long)ids[i],
                     (long long)i, (long long)ent_vocab_size(v));
            return -1;
        }
        if (words && strcmp(tok, EOS) == 0) {
            put_text(buf, cap, &at, "\n", 1);
            line_start = 1;
            continue;
        }
        if (words && !line_start) put_text(buf, cap, &at, " ", 1);
        put_text(buf, cap, &at, tok, strlen(tok));
        line_start = 0;
    }
    if (buf && cap) buf[at < cap ? at : cap - 1] = 0;
    return (int64_t)at;
}
