/* text_internal.h — what the text loaders share (internal to src/data/):
 * strict UTF-8 decoding (utf8.c), a map from byte strings to indices with
 * occurrence counts (strmap.c), and vocabularies made from such a map
 * (vocab.c). */
#ifndef ENT_TEXT_INTERNAL_H
#define ENT_TEXT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "entropic.h"

/* The default folder of the word and character data (scripts/setup.sh
 * makes it from the Brown corpus). */
#define ENT_TEXT_SETUP_HINT "scripts/setup.sh makes it from the Brown corpus"

/* The length (1..4) of the well-formed UTF-8 sequence at s[0 .. n), its
 * code point in *cp; 0 if the bytes there are not one (overlong forms,
 * surrogates, code points above U+10FFFF, a cut sequence). */
int ent_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
/* The offset of the first byte of s[0 .. n) that is not well-formed UTF-8
 * or is NUL (tokens are C strings), or n if there is none. */
size_t ent_utf8_check(const char *s, size_t n);
/* Fail with ENT_EFORMAT "<path>: invalid UTF-8 ..." when s[0..n) is not text. */
ent_status ent_utf8_require(const char *s, size_t n, const char *path);

/* Keys are byte strings without NUL, kept back to back (each followed by a
 * NUL, so a key is also a C string); index i is the i-th distinct key
 * added. The hash table only finds keys: nothing depends on its order. */
typedef struct {
    char *bytes;
    int64_t n_bytes, cap_bytes;
    int64_t *start; /* key i is bytes + start[i] */
    int64_t *len;
    int64_t *count; /* how many times key i was added */
    int64_t n, cap;
    int32_t *slot; /* key index + 1, 0: empty */
    int64_t n_slots; /* a power of two, at least 2 n */
} ent_strmap;

void ent_strmap_free(ent_strmap *m); /* leaves m empty and reusable */
int64_t ent_strmap_find(const ent_strmap *m, const char *s, size_t len); /* -1: absent */
/* Add one occurrence of s (inserting it if new); its index, or -1 when out
 * of memory (ENT_ENOMEM set). */
int64_t ent_strmap_add(ent_strmap *m, const char *s, size_t len);
static inline const char *ent_strmap_key(const ent_strmap *m, int64_t i) { return m->bytes + m->start[i]; }
/* The key indices in vocabulary order: by_count: count descending, ties in
 * byte order; else byte order alone (for UTF-8 characters: code point
 * order). malloc'd (m->n entries), NULL when out of memory. */
int64_t *ent_strmap_order(const ent_strmap *m, int by_count);

/* A vocabulary of the keys order[0 .. n) of m, in that order. */
ent_status ent_vocab_make(ent_vocab **out, ent_vocab_kind kind, const ent_strmap *m, const int64_t *order,
                          int64_t n);

/* An empty token stream of capacity cap, named name. */
ent_tokens *ent_tokens_new(int64_t cap, const char *name);

#endif
