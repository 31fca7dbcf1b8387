/* vocab.c — vocabularies: tokens (UTF-8 strings) to ids and back, their
 * JSON form for checkpoints, and token streams (ent_tokens). A vocabulary
 * is a strmap whose index is the id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/text_internal.h"

struct ent_vocab {
    ent_vocab_kind kind;
    ent_strmap map;
};

ent_vocab_kind ent_vocab_kind_of(const ent_vocab *v) { return v->kind; }
int64_t ent_vocab_size(const ent_vocab *v) { return v ? v->map.n : 0; }

const char *ent_vocab_token(const ent_vocab *v, int32_t id) {
    return v && id >= 0 && id < v->map.n ? ent_strmap_key(&v->map, id) : NULL;
}

int32_t ent_vocab_find(const ent_vocab *v, const char *token, size_t len) {
    return v && token ? (int32_t)ent_strmap_find(&v->map, token, len) : -1;
}

void ent_vocab_free(ent_vocab *v) {
    if (!v) return;
    ent_strmap_free(&v->map);
    free(v);
}

ent_status ent_vocab_make(ent_vocab **out, ent_vocab_kind kind, const ent_strmap *m, const int64_t *order,
                          int64_t n) {
    *out = NULL;
    ent_vocab *v = calloc(1, sizeof *v);
    if (!v) return ent_fail(ENT_ENOMEM, "out of memory for a vocabulary");
    v->kind = kind;
    for (int64_t i = 0; i < n; i++)
        if (ent_strmap_add(&v->map, ent_strmap_key(m, order[i]), (size_t)m->len[order[i]]) < 0) {
            ent_vocab_free(v);
            return ENT_ENOMEM;
        }
    *out = v;
    return ENT_OK;
}

ent_tokens *ent_tokens_new(int64_t cap, const char *name) {
    ent_tokens *t = calloc(1, sizeof *t);
    if (t) t->ids = malloc(sizeof(int32_t) * (size_t)(cap > 0 ? cap : 1));
    if (!t || !t->ids) {
        free(t);
        ent_fail(ENT_ENOMEM, "%s: out of memory for %lld tokens", name, (long long)cap);
        return NULL;
    }
    snprintf(t->name, sizeof t->name, "%s", name);
    return t;
}

void ent_tokens_free(ent_tokens *t) {
    if (!t) return;
    free(t->ids);
    free(t);
}

/* ------------------------------------------------------------------ JSON */

char *ent_vocab_to_json(const ent_vocab *v) {
    ent_json j;
    ent_json_init(&j);
    ent_json_begin_object(&j, NULL);
    ent_json_string(&j, "kind", v->kind == ENT_VOCAB_CHARS ? "chars" : "words");
    ent_json_begin_array(&j, "tokens");
    for (int64_t i = 0; i < v->map.n; i++) ent_json_string(&j, NULL, ent_strmap_key(&v->map, i));
    ent_json_end_array(&j);
    ent_json_end_object(&j);
    if (j.failed) {
        ent_json_free(&j);
        return NULL;
    }
    return j.buf; /* the caller frees it */
}

static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

#define SHOWN_CAP 256 /* 40 bytes of a key, each at most 6 as an escape, and "..." */

/* Whether s is a token of a vocabulary of this kind: well-formed UTF-8;
 * one character, or a word (no white space). */
static const char *bad_token(ent_vocab_kind kind, const char *s) {
    const size_t n = strlen(s);
    uint32_t cp;
    if (n == 0) return "an empty token";
    if (ent_utf8_check(s, n) != n) return "a token that is not UTF-8";
    if (kind == ENT_VOCAB_CHARS) return (size_t)ent_utf8_next((const unsigned char *)s, n, &cp) == n ? NULL : "a token of more than one character";
    for (size_t i = 0; i < n; i++)
        if (is_space((unsigned char)s[i])) return "a word with white space";
    return NULL;
}

/* s for a message, as the inside of a JSON string: a key or a token may
 * hold a line end or a control character (the JSON had it escaped), and a
 * message is one line. At most 40 bytes of s, cut before a character;
 * "..." when cut. */
static const char *shown(char out[SHOWN_CAP], const char *s) {
    size_t o = 0, i = 0;
    while (s[i] && i < 40) {
        const unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        int k = c < 0x80 ? 1 : ent_utf8_next((const unsigned char *)s + i, strnlen(s + i, 4), &cp);
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' || k == 0) {
            const char *e = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : c == '"' ? "\\\"" : c == '\\' ? "\\\\" : NULL;
            if (e) o += (size_t)snprintf(out + o, SHOWN_CAP - o, "%s", e);
            else o += (size_t)snprintf(out + o, SHOWN_CAP - o, k ? "\\u%04x" : "\\x%02x", c);
            i++;
            continue;
        }
        if (i + (size_t)k > 40) break;
        memcpy(out + o, s + i, (size_t)k);
        o += (size_t)k, i += (size_t)k;
    }
    snprintf(out + o, SHOWN_CAP - o, "%s", s[i] ? "..." : "");
    return out;
}

static ent_status vocab_from_jv(ent_vocab *v, const ent_jv *root, const char *what) {
    char buf[SHOWN_CAP];
    if (root->type != ENT_JSON_OBJECT) return ent_fail(ENT_EFORMAT, "%s: the vocabulary is not a JSON object", what);
    for (int64_t i = 0; i < root->n; i++)
        if (strcmp(root->keys[i], "kind") != 0 && strcmp(root->keys[i], "tokens") != 0)
            return ent_fail(ENT_EFORMAT, "%s: unknown vocabulary key \"%s\"", what, shown(buf, root->keys[i]));
    const ent_jv *kind = ent_jv_get(root, "kind"), *tokens = ent_jv_get(root, "tokens");
    if (!kind || kind->type != ENT_JSON_STRING || (strcmp(kind->str, "chars") != 0 && strcmp(kind->str, "words") != 0))
        return ent_fail(ENT_EFORMAT, "%s: vocabulary \"kind\" must be \"chars\" or \"words\"", what);
    v->kind = strcmp(kind->str, "chars") == 0 ? ENT_VOCAB_CHARS : ENT_VOCAB_WORDS;
    if (!tokens || tokens->type != ENT_JSON_ARRAY || tokens->n < 1)
        return ent_fail(ENT_EFORMAT, "%s: vocabulary \"tokens\" must be a non-empty array of strings", what);
    for (int64_t i = 0; i < tokens->n; i++) {
        const ent_jv *t = &tokens->items[i];
        if (t->type != ENT_JSON_STRING) return ent_fail(ENT_EFORMAT, "%s: vocabulary token %lld is not a string", what, (long long)i);
        const char *bad = bad_token(v->kind, t->str);
        if (bad) return ent_fail(ENT_EFORMAT, "%s: vocabulary token %lld is %s", what, (long long)i, bad);
        const size_t len = strlen(t->str);
        const int64_t before = ent_strmap_find(&v->map, t->str, len);
        if (before >= 0)
            return ent_fail(ENT_EFORMAT, "%s: vocabulary tokens %lld and %lld are the same (\"%s\")", what,
                            (long long)before, (long long)i, shown(buf, t->str));
        if (ent_strmap_add(&v->map, t->str, len) < 0) return ENT_ENOMEM;
    }
    return ENT_OK;
}

ent_status ent_vocab_from_json(ent_vocab **out, const char *json, const char *what) {
    if (!out) return ent_fail(ENT_EINVAL, "ent_vocab_from_json: NULL argument");
    *out = NULL;
    if (!what) what = "vocabulary";
    if (!json) return ent_fail(ENT_EFORMAT, "%s: no vocabulary", what);
    ent_jv root;
    ent_status s = ent_jv_parse(&root, json, strlen(json));
    if (s != ENT_OK) {
        char why[512]; /* ent_fail writes the buffer ent_last_error reads */
        snprintf(why, sizeof why, "%s", ent_last_error());
        return ent_fail(s, "%s: vocabulary: %s", what, why);
    }
    ent_vocab *v = calloc(1, sizeof *v);
    s = v ? vocab_from_jv(v, &root, what) : ent_fail(ENT_ENOMEM, "%s: out of memory", what);
    ent_jv_free(&root);
    if (s != ENT_OK) {
        ent_vocab_free(v);
        return s;
    }
    *out = v;
    return ENT_OK;
}
