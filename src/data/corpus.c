/* corpus.c — the token data sets by name, as the image ones are by
 * ent_data_load: "text" reads the characters of one file, "ptb" the three
 * word files of a folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entropic.h"

ent_status ent_corpus_load(ent_corpus *out, const ent_data_source *src) {
    memset(out, 0, sizeof *out);
    ent_status s;
    if (strcmp(src->name, "text") == 0) {
        s = ent_text_load(src->text, &out->vocab, &out->train, &out->valid, &out->test);
    } else if (strcmp(src->name, "ptb") == 0) {
        s = ent_words_load_dir(src->dir[0] ? src->dir : NULL, &out->vocab, &out->train, &out->valid, &out->test);
    } else {
        return ent_fail(ENT_EUSAGE, "dataset '%s' is not a token data set (text, ptb)", src->name);
    }
    if (s != ENT_OK) ent_corpus_free(out);
    return s;
}

void ent_corpus_free(ent_corpus *c) {
    ent_vocab_free(c->vocab);
    ent_tokens_free(c->train);
    ent_tokens_free(c->valid);
    ent_tokens_free(c->test);
    memset(c, 0, sizeof *c);
}

ent_status ent_tokens_windows(ent_dataset **out, const ent_tokens *t, int64_t steps, int64_t n_classes,
                              int64_t max_windows) {
    *out = NULL;
    int64_t n = steps > 0 && t->n > steps ? (t->n - 1) / steps : 0;
    if (max_windows > 0 && max_windows < n) n = max_windows;
    if (n < 1)
        return ent_fail(ENT_EINVAL, "%s: %lld tokens make no window of %lld and its next token", t->name,
                        (long long)t->n, (long long)steps);
    ent_dataset *d = calloc(1, sizeof *d);
    if (d) {
        d->x = ent_alloc(sizeof(float) * (size_t)(n * steps));
        d->y = ent_alloc(sizeof(int32_t) * (size_t)(n * steps));
    }
    if (!d || !d->x || !d->y) {
        ent_dataset_free(d);
        return ent_fail(ENT_ENOMEM, "%s: out of memory for %lld windows", t->name, (long long)n);
    }
    for (int64_t i = 0; i < n * steps; i++) d->x[i] = (float)t->ids[i], d->y[i] = t->ids[i + 1];
    d->n = n, d->c = steps, d->h = d->w = 1, d->n_classes = (int32_t)n_classes, d->y_per_sample = steps;
    snprintf(d->name, sizeof d->name, "%s", t->name);
    *out = d;
    return ENT_OK;
}
