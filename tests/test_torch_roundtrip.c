/* test_torch_roundtrip.c — weights move between PyTorch and entropic in
 * both directions, unchanged.
 *
 * tools/gen_torch_roundtrip.py built the docs/models.md module of a preset
 * with random weights, saved its state_dict as safetensors without any
 * metadata (tests/fixtures/torch_<preset>.safetensors, what
 * safetensors.torch.save_file(model.state_dict(), path) writes) and
 * recorded its eval-mode logits and loss on a fixed batch of 8
 * (tests/fixtures/torch_roundtrip.bin). For each preset:
 *
 *   1. PyTorch -> entropic: the file is opened the way `entropic eval
 *      --model NAME` opens it (ent_ckpt_open with the preset's name, then
 *      ent_ckpt_build), refused without --model, and the network's
 *      eval-mode logits equal PyTorch's within atol 1e-5 + rtol 1e-5 (both
 *      float32, summed in different orders; observed maxima are printed;
 *      |logits| < 1 here) and the loss within 1e-5.
 *   2. entropic -> PyTorch: ent_checkpoint_save, the function that writes a
 *      training run's checkpoint.safetensors, writes those weights; the
 *      file's model tensors (all but "optim.*") are exactly PyTorch's:
 *      the same names, dtypes and shapes and the same bytes (memcmp), read
 *      from both headers by a parser of its own here. So torch loads the
 *      same weights back with strict=True.
 *   3. Our checkpoint carries metadata, and a --model that disagrees with
 *      it is refused: by ent_ckpt_open (ENT_EUSAGE naming the file and both
 *      networks), and by `entropic eval` with exit status 2 and one line
 *      naming the file, before any data set is read. */
#include <stdlib.h>

#include "cli/analysis_cli.h"
#include "fixture.h"
#include "test.h"
#include "train/train_internal.h"

#define NB 8 /* the fixture's batch */

static const char *const PRESETS[] = {"tiny-mnistfc", "small-lenet"};

/* A safetensors file read raw: header JSON and the data bytes. */
typedef struct {
    char *blob;
    size_t len;
    ent_jv head;
    const char *data; /* blob + 8 + header length */
    size_t data_len;
} raw_st;

static int raw_open(raw_st *r, const char *path) {
    memset(r, 0, sizeof *r);
    if (ent_read_file(path, &r->blob, &r->len) != ENT_OK || r->len < 8) {
        CHECK_MSG(0, "%s: cannot read (%s)", path, ent_last_error());
        return 0;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | (unsigned char)r->blob[i];
    if (n > r->len - 8 || ent_jv_parse(&r->head, r->blob + 8, (size_t)n) != ENT_OK ||
        r->head.type != ENT_JSON_OBJECT) {
        CHECK_MSG(0, "%s: bad header", path);
        return 0;
    }
    r->data = r->blob + 8 + n;
    r->data_len = r->len - 8 - n;
    return 1;
}

static void raw_close(raw_st *r) {
    ent_jv_free(&r->head);
    free(r->blob);
}

/* One tensor's dtype, shape (as text) and bytes; 0 if absent or malformed. */
typedef struct {
    const char *dtype;
    char shape[96];
    const char *bytes;
    size_t n;
} raw_tensor;

static int raw_tensor_get(const raw_st *r, const char *name, raw_tensor *t) {
    const ent_jv *v = ent_jv_get(&r->head, name);
    if (!v || v->type != ENT_JSON_OBJECT) return 0;
    const ent_jv *dt = ent_jv_get(v, "dtype"), *sh = ent_jv_get(v, "shape"), *off = ent_jv_get(v, "data_offsets");
    if (!dt || dt->type != ENT_JSON_STRING || !sh || sh->type != ENT_JSON_ARRAY || !off ||
        off->type != ENT_JSON_ARRAY || off->n != 2)
        return 0;
    t->dtype = dt->str;
    int k = snprintf(t->shape, sizeof t->shape, "[");
    for (int64_t i = 0; i < sh->n && k < (int)sizeof t->shape; i++)
        k += snprintf(t->shape + k, sizeof t->shape - (size_t)k, "%s%.0f", i ? "," : "", sh->items[i].num);
    if (k < (int)sizeof t->shape) snprintf(t->shape + k, sizeof t->shape - (size_t)k, "]");
    const double b = off->items[0].num, e = off->items[1].num;
    if (!(b >= 0 && b <= e && e <= (double)r->data_len)) return 0;
    t->bytes = r->data + (size_t)b;
    t->n = (size_t)(e - b);
    return 1;
}

/* Every model tensor of `ours` (names not under "optim.") is in `theirs`
 * with the same dtype, shape and bytes, and `theirs` has no other tensor.
 * Returns the number of tensors compared. */
static int compare_tensors(const raw_st *ours, const raw_st *theirs, const char *preset) {
    int matched = 0;
    for (int64_t i = 0; i < ours->head.n; i++) {
        const char *name = ours->head.keys[i];
        if (strcmp(name, "__metadata__") == 0 || strncmp(name, "optim.", 6) == 0) continue;
        raw_tensor a, b;
        CHECK_MSG(raw_tensor_get(ours, name, &a), "%s: our tensor '%s' unreadable", preset, name);
        if (!raw_tensor_get(theirs, name, &b)) {
            CHECK_MSG(0, "%s: our checkpoint has '%s', PyTorch's state_dict does not", preset, name);
            continue;
        }
        CHECK_MSG(strcmp(a.dtype, b.dtype) == 0, "%s: '%s' dtype %s, PyTorch's %s", preset, name, a.dtype, b.dtype);
        CHECK_MSG(strcmp(a.shape, b.shape) == 0, "%s: '%s' shape %s, PyTorch's %s", preset, name, a.shape, b.shape);
        CHECK_MSG(a.n == b.n && memcmp(a.bytes, b.bytes, a.n) == 0, "%s: '%s': the bytes differ (%zu vs %zu)",
                  preset, name, a.n, b.n);
        matched++;
    }
    int theirs_n = 0;
    for (int64_t i = 0; i < theirs->head.n; i++) theirs_n += strcmp(theirs->head.keys[i], "__metadata__") != 0;
    CHECK_MSG(matched == theirs_n, "%s: %d model tensors matched, PyTorch's file has %d", preset, matched, theirs_n);
    return matched;
}

/* ent_checkpoint_save as a training run calls it: a one-worker SGD run on
 * the fixture's batch, at step 0, with the weights loaded from PyTorch. */
static ent_status save_ours(const char *path, const char *preset, ent_model *m, float *theta, float *buffers,
                            ent_dataset *d) {
    ent_train_config cfg = ent_train_config_default();
    snprintf(cfg.model, sizeof cfg.model, "%s", preset);
    snprintf(cfg.dataset, sizeof cfg.dataset, "mnist");
    cfg.optim = ent_optim_params_default(ENT_OPTIM_SGD);
    ent_netobj *obj = NULL;
    ent_optim *opt = NULL;
    ent_status s = ent_netobj_new(&obj, m, buffers, d, NB, 1);
    if (s == ENT_OK) s = ent_optim_new(&opt, &cfg.optim, ent_model_n_param(m), 1);
    if (s == ENT_OK) {
        ent_worker w = {m, buffers, obj};
        ent_run_state r = {.cfg = &cfg, .model_opts = ent_model_get_opts(m), .rank = 0, .ranks = 1,
                           .n_workers = 1, .w = &w, .model = m, .theta = theta, .buffers = buffers,
                           .optim = opt, .batches = ent_netobj_batches(obj),
                           .dropout_rng = ent_netobj_dropout_rng(obj)};
        s = ent_checkpoint_save(path, &r);
    }
    ent_optim_free(opt);
    ent_netobj_free(obj);
    return s;
}

static void roundtrip(const char *preset, const ent_fixture *fx) {
    char torch_path[600], ours_path[600], key[64];
    snprintf(torch_path, sizeof torch_path, "%s/torch_%s.safetensors", ent_test_fixture_dir(), preset);
    snprintf(ours_path, sizeof ours_path, "%s/ours_%s.safetensors", ent_test_tmpdir(), preset);
    const ent_fx_array *x = ent_fixture_find(fx, "x"), *yf = ent_fixture_find(fx, "y");
    snprintf(key, sizeof key, "%s.logits", preset);
    const ent_fx_array *want = ent_fixture_find(fx, key);
    snprintf(key, sizeof key, "%s.loss", preset);
    const ent_fx_array *want_loss = ent_fixture_find(fx, key);
    CHECK_MSG(x && yf && want && want_loss && x->numel == NB * 784 && want->numel == NB * 10,
              "torch_roundtrip.bin: arrays of %s missing or mis-sized", preset);
    if (!x || !yf || !want || !want_loss || x->numel != NB * 784 || want->numel != NB * 10) return;
    int32_t y[NB];
    for (int i = 0; i < NB; i++) y[i] = (int32_t)yf->data[i];
    ent_dataset d = {.n = NB, .c = 1, .h = 28, .w = 28, .n_classes = 10, .x = x->data, .y = y};
    snprintf(d.name, sizeof d.name, "mnist");

    /* The PyTorch file has no metadata, so it needs --model. */
    raw_st theirs;
    if (!raw_open(&theirs, torch_path)) return;
    CHECK_MSG(!ent_jv_get(&theirs.head, "__metadata__"), "%s: the PyTorch fixture has metadata", torch_path);
    ent_ckpt c;
    ent_status s = ent_ckpt_open(&c, torch_path, NULL);
    CHECK_MSG(s == ENT_EUSAGE && strstr(ent_last_error(), "--model") && strstr(ent_last_error(), torch_path),
              "no --model: %s: %s", ent_status_name(s), ent_last_error());
    ent_ckpt_free(&c);

    /* 1. PyTorch -> entropic, through eval's path. */
    CHECK_OK(ent_ckpt_open(&c, torch_path, preset));
    CHECK_OK(ent_ckpt_build(&c, &d, NB));
    if (!c.m) {
        ent_ckpt_free(&c);
        raw_close(&theirs);
        return;
    }
    CHECK_MSG(strcmp(c.model, preset) == 0, "built '%s', asked for '%s'", c.model, preset);
    double loss = 0.0;
    CHECK_OK(ent_model_run(c.m, c.theta, c.buffers, x->data, y, NB, 0, NULL, NULL, &loss, NULL));
    char label[96];
    snprintf(label, sizeof label, "%s logits vs PyTorch", preset);
    const double dl = CHECK_CLOSE(label, ent_model_logits(c.m), want->data, NB * 10, 1e-5, 1e-5);
    CHECK_NEAR(loss, (double)want_loss->data[0], 1e-5);
    printf("    %-13s logits max|diff| %.2e, loss %.7f vs PyTorch %.7f\n", preset, dl, loss,
           (double)want_loss->data[0]);

    /* 2. entropic -> PyTorch: our checkpoint holds PyTorch's bytes. */
    CHECK_OK(save_ours(ours_path, preset, c.m, c.theta, c.buffers, &d));
    raw_st ours;
    if (raw_open(&ours, ours_path)) {
        const int n = compare_tensors(&ours, &theirs, preset);
        printf("    %-13s %d tensors bit-identical in our checkpoint\n", preset, n);
        const ent_jv *meta = ent_jv_get(&ours.head, "__metadata__");
        const ent_jv *mm = meta ? ent_jv_get(meta, "model") : NULL;
        CHECK_MSG(mm && mm->type == ENT_JSON_STRING && strcmp(mm->str, preset) == 0,
                  "%s: our checkpoint's metadata lacks model = %s", ours_path, preset);
        raw_close(&ours);
    }
    ent_ckpt_free(&c);
    raw_close(&theirs);

    /* 3. Its metadata is checked against --model. */
    const char *other = strcmp(preset, "small-lenet") == 0 ? "tiny-mnistfc" : "small-lenet";
    s = ent_ckpt_open(&c, ours_path, other);
    CHECK_MSG(s == ENT_EUSAGE && strstr(ent_last_error(), ours_path) && strstr(ent_last_error(), preset) &&
                  strstr(ent_last_error(), other),
              "--model %s on a %s checkpoint: %s: %s", other, preset, ent_status_name(s), ent_last_error());
    ent_ckpt_free(&c);
    CHECK_OK(ent_ckpt_open(&c, ours_path, preset)); /* the right name is accepted */
    ent_ckpt_free(&c);
    char out[4096];
    const int rc = ent_test_run(out, sizeof out, "%s eval --checkpoint %s --model %s --dataset mnist --data-dir %s/none",
                                ent_test_cli(), ours_path, other, ent_test_tmpdir());
    CHECK_MSG(rc == 2 && ent_test_count_lines(out) == 1 && strstr(out, ours_path) && strstr(out, other),
              "eval --model %s of a %s checkpoint: exit %d: %s", other, preset, rc, out);
}

ENT_TEST(torch_state_dict_roundtrip) {
    char path[600];
    snprintf(path, sizeof path, "%s/torch_roundtrip.bin", ent_test_fixture_dir());
    ent_fixture *fx = NULL;
    CHECK_OK(ent_fixture_load(&fx, path));
    if (!fx) return;
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++) roundtrip(PRESETS[i], fx);
    ent_fixture_free(fx);
}
