/* text_run.c — the token side of a training run (--dataset text | ptb):
 * the corpus and its vocabulary, each worker's model and token windows,
 * and evaluation over a whole split with the state carried across it.
 * Everything else of the run (optimizers, replicas, checkpoints, resume,
 * metrics) is the same as for images. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_run.h"

#define DEFAULT_BPTT 35 /* a network file's window when --bptt is not given */

void ent_run_text_free(ent_run_text *t) {
    if (!t) return;
    ent_corpus_free(&t->c);
    free(t);
}

/* --bptt, else the preset's window (its input is T x 1 x 1). */
static int64_t window_of(const ent_train_config *c) {
    int64_t T = c->bptt, h, w;
    if (T == 0 && !c->model_file[0] && ent_model_preset_input(c->model, &T, &h, &w) != ENT_OK) T = 0;
    return T > 0 ? T : DEFAULT_BPTT;
}

ent_status ent_run_text_load(ent_run *R) {
    const ent_train_config *c = R->r.cfg;
    ent_run_text *t = calloc(1, sizeof *t);
    if (!t) return ent_fail(ENT_ENOMEM, "out of memory");
    R->text = t;
    t->steps = window_of(c);
    ent_data_source src = {0};
    snprintf(src.name, sizeof src.name, "%s", c->dataset);
    snprintf(src.dir, sizeof src.dir, "%s", c->data_dir);
    snprintf(src.text, sizeof src.text, "%s", c->text);
    return ent_corpus_load(&t->c, &src);
}

ent_status ent_run_text_worker(ent_run *R, ent_worker *w, uint64_t stream_seed) {
    const ent_train_config *c = R->r.cfg;
    const ent_run_text *t = R->text;
    const int64_t V = ent_vocab_size(t->c.vocab);
    ent_net *net = NULL;
    ent_status s = ent_net_named(&net, c->model_file[0] ? c->model_file : c->model, &c->model_opts, V);
    if (s == ENT_OK) s = ent_model_new_net(&w->model, net, t->steps, 1, 1, V, c->batch);
    ent_net_free(net);
    if (s == ENT_OK && ent_model_positions(w->model) != t->steps)
        s = ent_fail(ENT_ESHAPE, "model %s predicts %lld label(s) per window of %lld tokens: a model for text "
                     "ends in a per-position linear layer", c->model, (long long)ent_model_positions(w->model),
                     (long long)t->steps);
    if (s != ENT_OK) return s;
    w->buffers = ent_alloc(sizeof(float) * (size_t)(ent_model_n_buffer(w->model) + 1));
    if (!w->buffers) return ent_fail(ENT_ENOMEM, "cannot allocate the model's buffers");
    ent_batches src;
    s = ent_batches_tokens(&src, t->c.train, c->batch, t->steps);
    return s == ENT_OK ? ent_netobj_new_batches(&w->obj, w->model, w->buffers, src, stream_seed) : s;
}

ent_status ent_run_text_evaluate(ent_run *R, const ent_tokens *split, double *loss, double *err) {
    const ent_run_state *r = &R->r;
    /* the training batch of streams, fewer for a split too short for it */
    int64_t batch = split->n / (R->text->steps + 1);
    if (batch > R->cfg.batch) batch = R->cfg.batch;
    return ent_model_evaluate_tokens(r->model, r->theta, r->buffers, split, batch > 0 ? batch : 1, loss, err);
}
