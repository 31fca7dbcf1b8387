/* test_cli_net.c — a network of one's own end to end: a small residual
 * net written as a network file trains on real Fashion-MNIST with
 * --model-file (with crop and flip augmentation), its checkpoint
 * evaluates without naming the network (the checkpoint records it), a
 * resumed augmented run is bit-identical to an uninterrupted one, and a
 * bad file is one line naming it, exit 2, with
 * no run directory left behind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#define FMNIST "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
static char out[65536];

static const char *const TINY_RES =
    "{\"name\": \"tiny-res\", \"nodes\": [\n"
    "  {\"name\": \"conv1\", \"kind\": \"conv2d\", \"out_channels\": 8, \"kernel\": 3, \"stride\": 2, \"padding\": 1, \"bias\": false},\n"
    "  {\"name\": \"bn1\", \"kind\": \"batchnorm\"},\n"
    "  {\"name\": \"relu1\", \"kind\": \"relu\"},\n"
    "  {\"name\": \"conv2\", \"kind\": \"conv2d\", \"out_channels\": 8, \"kernel\": 3, \"padding\": 1, \"bias\": false},\n"
    "  {\"name\": \"bn2\", \"kind\": \"batchnorm\"},\n"
    "  {\"name\": \"add1\", \"kind\": \"add\", \"in\": [\"bn2\", \"relu1\"]},\n"
    "  {\"name\": \"relu2\", \"kind\": \"relu\"},\n"
    "  {\"name\": \"pool\", \"kind\": \"avgpool\", \"kernel\": 2},\n"
    "  {\"name\": \"fc\", \"kind\": \"dense\", \"out_features\": 10}]}\n";

static int write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    fputs(text, f);
    return fclose(f) == 0;
}

/* Every tensor of the network (weights and running statistics) and the
 * optimizer's momentum: the same bits in both checkpoints. */
static void same_weights(const char *net_path, const char *a, const char *b) {
    ent_net *net = NULL;
    ent_model *m = NULL;
    ent_st_file *fa = NULL, *fb = NULL;
    CHECK_OK(ent_net_load(&net, net_path));
    if (net) CHECK_OK(ent_model_new_net(&m, net, 1, 28, 28, 10, 1));
    CHECK_OK(ent_safetensors_read(&fa, a));
    CHECK_OK(ent_safetensors_read(&fb, b));
    if (m && fa && fb) {
        int np, nb, compared = 0;
        const ent_tensor_info *t[2] = {ent_model_params(m, &np), ent_model_buffers(m, &nb)};
        const int count[2] = {np, nb};
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < count[k]; i++) {
                const int64_t n = t[k][i].numel;
                float *x = malloc(4 * (size_t)n), *y = malloc(4 * (size_t)n);
                CHECK_OK(ent_st_get(fa, t[k][i].name, x, n));
                CHECK_OK(ent_st_get(fb, t[k][i].name, y, n));
                CHECK_MSG(memcmp(x, y, 4 * (size_t)n) == 0, "tensor %s differs after resume", t[k][i].name);
                compared++;
                free(x), free(y);
            }
        CHECK(compared == np + nb && np == 8);
        float *x = malloc(4 * 4610), *y = malloc(4 * 4610);
        CHECK_OK(ent_st_get(fa, "optim.momentum", x, 4610));
        CHECK_OK(ent_st_get(fb, "optim.momentum", y, 4610));
        CHECK_MSG(memcmp(x, y, 4 * 4610) == 0, "the momentum differs after resume");
        free(x), free(y);
    }
    ent_st_file_free(fa), ent_st_file_free(fb);
    ent_model_free(m);
    ent_net_free(net);
}

/* Chance is 90% error; the bar, 30%, is three times below it (a working
 * run reaches about 20% here). */
ENT_TEST(cli_train_network_file) {
    FILE *probe = fopen(FMNIST, "rb");
    if (!probe) {
        printf("    skip: %s absent (apt-get install dataset-fashion-mnist)\n", FMNIST);
        return;
    }
    fclose(probe);
    const char *t = ent_test_tmpdir();
    char net[600];
    snprintf(net, sizeof net, "%s/tiny-res.json", t);
    CHECK(write_text(net, TINY_RES));
    const char *common = "--optimizer sgd --lr 0.1 --momentum 0.9 --train-subset 6000 --test-subset 1000 "
                         "--batch-size 128 --augment crop2,flip --threads 2 --seed 1 --quiet";
    int rc = ent_test_run(out, sizeof out, "%s train --model-file %s %s --epochs 3 --out %s/full", ent_test_cli(),
                          net, common, t);
    CHECK_MSG(rc == 0, "train: %s", out);
    rc = ent_test_run(out, sizeof out, "%s eval --checkpoint %s/full/checkpoint.safetensors --json", ent_test_cli(), t);
    CHECK_MSG(rc == 0 && strstr(out, "\"tiny-res\""), "eval from the checkpoint alone: %s", out);
    const char *e = strstr(out, "\"error\":");
    const double err = e ? atof(e + 8) : 1.0;
    printf("    tiny residual net (4,610 params), 3 epochs on 6000 images: test error %.2f%%\n", 100 * err);
    CHECK_MSG(err < 0.30, "test error %.3f not below the 0.30 bar", err);
    /* stopped after 1 epoch and resumed: the same weights, bit for bit */
    rc = ent_test_run(out, sizeof out, "%s train --model-file %s %s --epochs 1 --out %s/half", ent_test_cli(), net,
                      common, t);
    CHECK_MSG(rc == 0, "half run: %s", out);
    rc = ent_test_run(out, sizeof out, "%s train --resume %s/half --epochs 3", ent_test_cli(), t);
    CHECK_MSG(rc == 0, "resume: %s", out);
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/full/checkpoint.safetensors", t);
    snprintf(b, sizeof b, "%s/half/checkpoint.safetensors", t);
    same_weights(net, a, b);
    /* a bad file: one line naming it, exit 2, nothing created */
    snprintf(net, sizeof net, "%s/bad.json", t);
    CHECK(write_text(net, "{\"nodes\": [{\"name\": \"fc\", \"kind\": \"dense\", \"out_feature\": 10}]}"));
    rc = ent_test_run(out, sizeof out, "%s train --model-file %s --out %s/bad --quiet", ent_test_cli(), net, t);
    CHECK_MSG(rc == 2 && strstr(out, "bad.json") && strstr(out, "out_feature") && ent_test_count_lines(out) == 1,
              "bad network file: exit %d: %s", rc, out);
    rc = ent_test_run(out, sizeof out, "test -e %s/bad", t);
    CHECK_MSG(rc != 0, "the refused start left %s/bad behind", t);
}

/* `entropic model`: a preset's description reads back as a network file
 * that builds the same parameter count; summary states shapes and counts. */
ENT_TEST(cli_model_show_summary) {
    const char *t = ent_test_tmpdir();
    int rc = ent_test_run(out, sizeof out, "%s model show resnet18 > %s/r18.json && %s model summary %s/r18.json --input 3x32x32",
                          ent_test_cli(), t, ent_test_cli(), t);
    CHECK_MSG(rc == 0 && strstr(out, "trainable parameters 11173962"), "resnet18 via its file: %s", out);
    CHECK(strstr(out, "layer2.0.downsample.0") && strstr(out, "[512, 1, 1]"));
    rc = ent_test_run(out, sizeof out, "%s model summary allcnn --input 3x32x32", ent_test_cli());
    CHECK_MSG(rc == 0 && strstr(out, "trainable parameters 1667166"), "allcnn: %s", out);
    rc = ent_test_run(out, sizeof out, "%s model summary wrn-16-4 --input 3x32x32", ent_test_cli());
    CHECK_MSG(rc == 0 && strstr(out, "trainable parameters 2748890"), "wrn-16-4: %s", out);
    rc = ent_test_run(out, sizeof out, "%s model summary nosuch.json", ent_test_cli());
    CHECK_MSG(rc == 2 && strstr(out, "nosuch.json") && ent_test_count_lines(out) == 1, "missing file: %d %s", rc, out);
}
