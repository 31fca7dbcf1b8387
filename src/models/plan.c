/* plan.c — the model's memory, planned by lifetimes.
 *
 * One step is a schedule of calls: the forward calls (a fused block or one
 * node each) at times 0 .. B-1, then the backward calls in reverse, block
 * b's at time 2B-1-b. Every buffer is live from the call that first writes
 * it to the last call that reads it:
 *   activation of p: from p's forward to the last of its consumers'
 *     forwards and, in training, its consumers' and its own backward;
 *   gradient at p's output (training): from the backward of its consumer
 *     that runs first to p's own backward;
 *   saved of p: from p's forward to its backward (training), or that
 *     forward alone (evaluation, where nothing is saved for later).
 * Buffers whose lifetimes are disjoint share memory: each is placed at the
 * lowest offset that no buffer live at the same time covers (first fit in
 * order of first use). The logits stay live to the end of the step, so
 * ent_model_logits can read them after a run. Buffers are 64-byte aligned
 * (16 floats). The training plan's arena is allocated by the first run
 * that needs it (ent_model_train_workspace), so a model used only for
 * evaluation never holds it. */
#include <stdlib.h>
#include <string.h>

#include "models/model_internal.h"

#define ALIGN_FLOATS 16

static int64_t align_up(int64_t x) {
    return (x + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

typedef struct {
    int64_t size, start, end;
    int64_t *off;
} item;

static int by_start(const void *a, const void *b) {
    const item *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

static int by_offset(const void *a, const void *b) {
    const item *x = *(item *const *)a, *y = *(item *const *)b;
    return *x->off < *y->off ? -1 : *x->off > *y->off;
}

/* First fit by lifetime; returns the arena size (floats). */
static int64_t place(item *it, int n, item **live) {
    qsort(it, (size_t)n, sizeof *it, by_start);
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        int k = 0;
        for (int j = 0; j < i; j++)
            if (it[j].end >= it[i].start) live[k++] = &it[j];
        qsort(live, (size_t)k, sizeof *live, by_offset);
        int64_t at = 0;
        for (int j = 0; j < k; j++) {
            if (*live[j]->off - at >= it[i].size) break;
            if (*live[j]->off + live[j]->size > at) at = *live[j]->off + live[j]->size;
        }
        *it[i].off = at;
        if (at + it[i].size > total) total = at + it[i].size;
    }
    return total;
}

typedef struct {
    int *tf, *tb; /* per node: its block's forward and backward time */
    int end;      /* the last time of the step */
} schedule;

static void add_item(item *it, int *n, int64_t size, int64_t start, int64_t end, int64_t *off) {
    *off = 0; /* an empty buffer points at the arena and is never read */
    if (size <= 0) return;
    it[(*n)++] = (item){align_up(size), start, end, off};
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* The lifetimes of one plan (train: with backward) into it[]. */
static int lifetimes(const ent_model *m, const schedule *t, ent_plan *p, int train, item *it) {
    const int L = m->n_layers, logits = m->nodes[L - 1].in[0];
    int n = 0;
    for (int i = 0; i < L; i++) {
        const ent_node *nd = &m->nodes[i];
        const int back = train && nd->grad_below;
        p->grad[i] = -1;
        add_item(it, &n, m->layers[i].saved, t->tf[i], back ? t->tb[i] : t->tf[i], &p->saved[i]);
        int64_t end = back ? t->tb[i] : t->tf[i], first_write = t->end + 1;
        for (int c = i + 1; c < L; c++)
            for (int j = 0; j < m->nodes[c].n_in; j++) {
                if (m->nodes[c].in[j] != i) continue;
                end = max64(end, train && m->nodes[c].grad_below ? t->tb[c] : t->tf[c]);
                if (t->tb[c] < first_write) first_write = t->tb[c];
            }
        if (i == logits) end = t->end;
        add_item(it, &n, m->max_batch * ent_layer_out_size(&m->layers[i]), t->tf[i], end, &p->act[i]);
        if (back && nd->consumers > 0)
            add_item(it, &n, m->max_batch * ent_layer_out_size(&m->layers[i]), first_write,
                     t->tb[i], &p->grad[i]);
    }
    return n;
}

static void free_plan(ent_plan *p) {
    ent_free_aligned(p->base);
    free(p->act);
    *p = (ent_plan){0};
}

void ent_model_free_plans(ent_model *m) {
    free_plan(&m->train);
    free_plan(&m->eval);
    ent_free_aligned(m->scratch);
    free(m->first);
    m->scratch = NULL, m->first = NULL;
    m->last = NULL;
}

static ent_status make_plan(const ent_model *m, const schedule *t, int train, ent_plan *p,
                            item *it, item **live) {
    const int L = m->n_layers;
    p->act = malloc(sizeof(int64_t) * (size_t)(3 * L));
    if (!p->act) return ENT_ENOMEM;
    p->grad = p->act + L, p->saved = p->act + 2 * L;
    const int n = lifetimes(m, t, p, train, it);
    p->size = place(it, n, live);
    if (train) return ENT_OK; /* allocated by the first run that needs it */
    p->base = ent_alloc(sizeof(float) * (size_t)(p->size + ALIGN_FLOATS));
    return p->base ? ENT_OK : ENT_ENOMEM;
}

ent_status ent_model_train_workspace(ent_model *m) {
    if (m->train.base) return ENT_OK;
    m->train.base = ent_alloc(sizeof(float) * (size_t)(m->train.size + ALIGN_FLOATS));
    if (m->train.base) return ENT_OK;
    return ent_fail(ENT_ENOMEM, "model %s: cannot allocate the %.0f MiB training workspace", m->preset,
                    (double)m->train.size * sizeof(float) / 1048576.0);
}

ent_status ent_model_plan_memory(ent_model *m) {
    ent_model_free_plans(m);
    const int L = m->n_layers;
    int *first = malloc(sizeof(int) * (size_t)(3 * L)); /* first, then the schedule */
    item *it = malloc(sizeof *it * (size_t)(3 * L));
    item **live = malloc(sizeof *live * (size_t)(3 * L));
    ent_status s = first && it && live ? ENT_OK : ENT_ENOMEM;
    if (s == ENT_OK) {
        schedule t = {first + L, first + 2 * L, 0};
        ent_model_block_starts(m, first);
        int blocks = 0;
        for (int i = 0; i < L; i++) blocks += first[i] == i;
        for (int i = 0, b = -1; i < L; i++) {
            b += first[i] == i;
            t.tf[i] = b, t.tb[i] = 2 * blocks - 1 - b;
        }
        t.end = 2 * blocks - 1;
        s = make_plan(m, &t, 1, &m->train, it, live);
        if (s == ENT_OK) s = make_plan(m, &t, 0, &m->eval, it, live);
    }
    m->n_scratch = 0;
    for (int i = 0; i < L; i++)
        if (m->layers[i].scratch > m->n_scratch) m->n_scratch = m->layers[i].scratch;
    m->scratch = s == ENT_OK ? ent_alloc(sizeof(float) * (size_t)(m->n_scratch + 1)) : NULL;
    m->first = first;
    free(it), free(live);
    if (s != ENT_OK || !m->scratch)
        return ent_fail(ENT_ENOMEM, "model %s: cannot allocate the workspace", m->preset);
    return ENT_OK;
}
