/* analysis_load.c — checkpoint and data loading for the analysis
 * commands (see analysis_cli.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/analysis_cli.h"
#include "train/train_internal.h"

/* A model setting from the metadata, if there, in [lo, hi]: a bad one is
 * named with the file and key (atof took "abc" for 0). */
static ent_status meta_float(const ent_st_file *f, const char *path, const char *key, double lo, double hi,
                             float *v) {
    double d = *v;
    ent_status s = ent_st_meta(f, key) ? ent_ckb_get_number(f, path, key, lo, hi, &d) : ENT_OK;
    *v = (float)d;
    return s;
}

ent_status ent_ckpt_open(ent_ckpt *c, const char *path, const char *model) {
    memset(c, 0, sizeof *c);
    snprintf(c->path, sizeof c->path, "%s", path);
    ent_status s = ent_safetensors_read(&c->file, path);
    if (s != ENT_OK) return s;
    const char *meta = ent_st_meta(c->file, "model");
    const int given = model && model[0];
    if (!meta && !given)
        return ent_fail(ENT_EUSAGE, "%s: no 'model' in the metadata (a checkpoint written by PyTorch?): "
                        "name the network with --model NAME", path);
    int n, preset = 0;
    const char *const *names = ent_model_presets(&n);
    for (int i = 0; given && i < n; i++) preset |= strcmp(names[i], model) == 0;
    if (meta && preset && strcmp(meta, model) != 0)
        return ent_fail(ENT_EUSAGE, "%s: the checkpoint is a '%s', not the --model '%s'", path, meta, model);
    snprintf(c->model, sizeof c->model, "%s", given ? model : meta);
    snprintf(c->given, sizeof c->given, "%s", given ? model : "");
    return ENT_OK;
}

/* The network of the checkpoint (see analysis_cli.h). */
static ent_status ckpt_net(const ent_ckpt *c, const ent_model_opts *o, int64_t n_classes,
                           ent_net **net) {
    const char *js = ent_st_meta(c->file, "entropic.network");
    if (c->given[0]) return ent_net_named(net, c->given, o, n_classes);
    if (js && js[0]) return ent_net_parse(net, js, strlen(js), c->path);
    return ent_net_named(net, c->model, o, n_classes);
}

ent_status ent_ckpt_preprocess(const ent_ckpt *c, ent_dataset *d, ent_dataset *const *more, int n_more) {
    const char *p = ent_st_meta(c->file, "data.preprocess");
    if (!p || strcmp(p, "none") == 0) return ENT_OK;
    if (strcmp(p, "gcn-zca") != 0)
        return ent_fail(ENT_EFORMAT, "%s: unknown data.preprocess '%s' in the metadata", c->path, p);
    char cache[600];
    const char *slash = strrchr(c->path, '/');
    snprintf(cache, sizeof cache, "%.*s%s", slash ? (int)(slash - c->path + 1) : 0, c->path, ENT_ZCA_FILE);
    if (access(cache, R_OK) != 0)
        return ent_fail(ENT_ENOENT, "%s: its run whitened the data (gcn-zca), but %s, the whitening, is not beside it",
                        c->path, cache);
    ent_status s = ent_gcn_zca_cached(d, more, n_more, ENT_ZCA_GCN_BIAS, ENT_ZCA_EPS, cache);
    return s;
}

static ent_status ckpt_build_shape(ent_ckpt *c, int64_t in_c, int64_t in_h, int64_t in_w, int64_t classes,
                                   int64_t max_batch) {
    ent_model_opts o = ent_model_opts_default();
    const double below_one = nextafter(1.0, 0.0);
    /* dropout -1: the network's own (a network file's runs record it so) */
    ent_status s = meta_float(c->file, c->path, "model.dropout", -1.0, below_one, &o.dropout);
    if (s == ENT_OK) s = meta_float(c->file, c->path, "model.input_dropout", -1.0, below_one, &o.input_dropout);
    if (s == ENT_OK) s = meta_float(c->file, c->path, "model.bn_momentum", 0.0, 1.0, &o.bn_momentum);
    if (s == ENT_OK) s = meta_float(c->file, c->path, "model.bn_eps", 1e-30, 1.0, &o.bn_eps);
    ent_net *net = NULL;
    if (s == ENT_OK) s = ckpt_net(c, &o, classes, &net);
    if (s == ENT_OK) s = ent_model_new_net(&c->m, net, in_c, in_h, in_w, classes, max_batch);
    if (s == ENT_OK) snprintf(c->model, sizeof c->model, "%s", ent_net_name(net));
    ent_net_free(net);
    if (s == ENT_OK) {
        c->theta = ent_alloc(sizeof(float) * (size_t)ent_model_n_param(c->m));
        c->buffers = ent_alloc(sizeof(float) * (size_t)(ent_model_n_buffer(c->m) + 1));
        if (!c->theta || !c->buffers) s = ent_fail(ENT_ENOMEM, "%s: out of memory", c->path);
    }
    if (s == ENT_OK) s = ent_checkpoint_read_weights(c->file, c->path, c->m, c->theta, c->buffers);
    ent_st_file_free(c->file);
    c->file = NULL;
    return s;
}

ent_status ent_ckpt_build(ent_ckpt *c, const ent_dataset *d, int64_t max_batch) {
    return ckpt_build_shape(c, d->c, d->h, d->w, d->n_classes, max_batch);
}

ent_status ent_ckpt_vocab(const ent_ckpt *c, ent_vocab **vocab, int64_t *bptt) {
    const char *js = ent_st_meta(c->file, "entropic.vocab"), *T = ent_st_meta(c->file, "data.bptt");
    if (!js || !js[0])
        return ent_fail(ENT_EFORMAT, "%s: no vocabulary in the metadata (entropic.vocab): not a checkpoint of a "
                        "model trained on text", c->path);
    char *end = NULL;
    const long long t = T ? strtoll(T, &end, 10) : 0;
    if (!T || *end || t < 1) return ent_fail(ENT_EFORMAT, "%s: data.bptt missing or not a positive integer", c->path);
    *bptt = t;
    return ent_vocab_from_json(vocab, js, c->path);
}

ent_status ent_ckpt_build_tokens(ent_ckpt *c, const ent_vocab *v, int64_t steps, int64_t max_batch) {
    return ckpt_build_shape(c, steps, 1, 1, ent_vocab_size(v), max_batch);
}

void ent_ckpt_free(ent_ckpt *c) {
    ent_st_file_free(c->file);
    ent_model_free(c->m);
    ent_free_aligned(c->theta);
    ent_free_aligned(c->buffers);
    c->file = NULL, c->m = NULL, c->theta = c->buffers = NULL;
}

/* The data's vocabulary must be the checkpoint's token for token. */
ent_status ent_cli_same_vocab(const ent_vocab *ckpt, const ent_vocab *data, const char *path) {
    char *a = ent_vocab_to_json(ckpt), *b = ent_vocab_to_json(data);
    ent_status s = ENT_OK;
    if (!a || !b) s = ent_fail(ENT_ENOMEM, "out of memory");
    else if (strcmp(a, b) != 0)
        s = ent_fail(ENT_EFORMAT, "%s: the checkpoint's vocabulary (%lld tokens) is not the data's (%lld tokens)",
                     path, (long long)ent_vocab_size(ckpt), (long long)ent_vocab_size(data));
    free(a);
    free(b);
    return s;
}

/* A token corpus's split as windows of the checkpoint's length, after its
 * vocabulary is checked against the data's. */
static ent_status token_windows(ent_dataset **out, const ent_data_source *src, ent_split split, int64_t n,
                                const char *ckpt) {
    ent_ckpt c;
    ent_vocab *cv = NULL;
    ent_corpus corpus = {0};
    int64_t T = 0;
    ent_status s = ent_ckpt_open(&c, ckpt, NULL);
    if (s == ENT_OK) s = ent_ckpt_vocab(&c, &cv, &T);
    if (s == ENT_OK) s = ent_corpus_load(&corpus, src);
    if (s == ENT_OK) s = ent_cli_same_vocab(cv, corpus.vocab, ckpt);
    if (s == ENT_OK)
        s = ent_tokens_windows(out, split == ENT_SPLIT_TRAIN ? corpus.train : corpus.test, T, ent_vocab_size(cv), n);
    ent_ckpt_free(&c);
    ent_vocab_free(cv);
    ent_corpus_free(&corpus);
    return s;
}

ent_status ent_cli_dataset(ent_dataset **out, const ent_data_source *src, ent_split split, int64_t n,
                           const char *ckpt) {
    const int text = strcmp(src->name, "text") == 0 || strcmp(src->name, "ptb") == 0;
    if (text) return token_windows(out, src, split, n, ckpt);
    ent_status s = ent_data_load(out, src, split);
    if (s == ENT_OK && n > 0 && n < (*out)->n) ent_dataset_truncate(*out, n);
    return s;
}

ent_status ent_cli_write_text(const char *path, const char *text, size_t len) {
    return ent_write_file_atomic(path, text, len);
}

ent_status ent_cli_mkdir(const char *dir) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return ent_fail(ENT_EIO, "%s: cannot create the output directory (%s)", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return ent_fail(ENT_EIO, "%s: not a directory", dir);
    return ENT_OK;
}
