/* strmap.c — byte strings to indices, with counts (text_internal.h): open
 * addressing with linear probing on a 64-bit FNV-1a hash. Indices follow
 * the order of first insertion and every order handed out is sorted by
 * count and bytes, so no result depends on the hash. */
#include <stdlib.h>
#include <string.h>

#include "data/text_internal.h"

static uint64_t hash(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

void ent_strmap_free(ent_strmap *m) {
    free(m->bytes), free(m->start), free(m->len), free(m->count), free(m->slot);
    memset(m, 0, sizeof *m);
}

/* The slot holding s, or the empty slot where it would go. */
static int64_t probe(const ent_strmap *m, const char *s, size_t len, uint64_t h) {
    const int64_t mask = m->n_slots - 1;
    for (int64_t j = (int64_t)(h & (uint64_t)mask);; j = (j + 1) & mask) {
        const int32_t k = m->slot[j];
        if (k == 0) return j;
        if ((size_t)m->len[k - 1] == len && memcmp(m->bytes + m->start[k - 1], s, len) == 0) return j;
    }
}

int64_t ent_strmap_find(const ent_strmap *m, const char *s, size_t len) {
    if (m->n_slots == 0) return -1;
    const int32_t k = m->slot[probe(m, s, len, hash(s, len))];
    return k ? k - 1 : -1;
}

static int rehash(ent_strmap *m, int64_t n_slots) {
    int32_t *slot = calloc((size_t)n_slots, sizeof *slot);
    if (!slot) return 0;
    free(m->slot);
    m->slot = slot, m->n_slots = n_slots;
    for (int64_t i = 0; i < m->n; i++)
        m->slot[probe(m, m->bytes + m->start[i], (size_t)m->len[i], hash(m->bytes + m->start[i], (size_t)m->len[i]))] =
            (int32_t)(i + 1);
    return 1;
}

static int grow_keys(ent_strmap *m) {
    const int64_t cap = m->cap ? 2 * m->cap : 256;
    int64_t *start = realloc(m->start, sizeof(int64_t) * (size_t)cap);
    if (start) m->start = start;
    int64_t *len = start ? realloc(m->len, sizeof(int64_t) * (size_t)cap) : NULL;
    if (len) m->len = len;
    int64_t *count = len ? realloc(m->count, sizeof(int64_t) * (size_t)cap) : NULL;
    if (count) m->count = count, m->cap = cap;
    return count != NULL;
}

static int grow_bytes(ent_strmap *m, size_t need) {
    int64_t cap = m->cap_bytes ? m->cap_bytes : 4096;
    while (cap < m->n_bytes + (int64_t)need) cap *= 2;
    char *b = realloc(m->bytes, (size_t)cap);
    if (!b) return 0;
    m->bytes = b, m->cap_bytes = cap;
    return 1;
}

int64_t ent_strmap_add(ent_strmap *m, const char *s, size_t len) {
    if (m->n_slots < 2 * (m->n + 1) && !rehash(m, m->n_slots ? 2 * m->n_slots : 1024)) goto oom;
    const uint64_t h = hash(s, len);
    const int64_t j = probe(m, s, len, h);
    if (m->slot[j]) {
        m->count[m->slot[j] - 1]++;
        return m->slot[j] - 1;
    }
    if (m->n >= INT32_MAX - 1) {
        ent_fail(ENT_EINVAL, "more than 2^31 distinct tokens");
        return -1;
    }
    if ((m->n == m->cap && !grow_keys(m)) || (m->n_bytes + (int64_t)len + 1 > m->cap_bytes && !grow_bytes(m, len + 1)))
        goto oom;
    memcpy(m->bytes + m->n_bytes, s, len);
    m->bytes[m->n_bytes + (int64_t)len] = 0;
    m->start[m->n] = m->n_bytes, m->len[m->n] = (int64_t)len, m->count[m->n] = 1;
    m->n_bytes += (int64_t)len + 1;
    m->slot[j] = (int32_t)(m->n + 1);
    return m->n++;
oom:
    ent_fail(ENT_ENOMEM, "out of memory for the vocabulary (%lld distinct tokens)", (long long)m->n);
    return -1;
}

typedef struct {
    const char *key;
    int64_t count, index;
} entry;

static int by_bytes(const void *a, const void *b) {
    return strcmp(((const entry *)a)->key, ((const entry *)b)->key); /* compares as unsigned char */
}

static int by_count(const void *a, const void *b) {
    const entry *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->key, y->key);
}

int64_t *ent_strmap_order(const ent_strmap *m, int count_first) {
    entry *e = malloc(sizeof *e * (size_t)(m->n ? m->n : 1));
    int64_t *order = malloc(sizeof *order * (size_t)(m->n ? m->n : 1));
    if (!e || !order) {
        free(e), free(order);
        ent_fail(ENT_ENOMEM, "out of memory sorting the vocabulary");
        return NULL;
    }
    for (int64_t i = 0; i < m->n; i++) e[i] = (entry){ent_strmap_key(m, i), m->count[i], i};
    qsort(e, (size_t)m->n, sizeof *e, count_first ? by_count : by_bytes);
    for (int64_t i = 0; i < m->n; i++) order[i] = e[i].index;
    free(e);
    return order;
}
