/* residual_net.c — a network of one's own through the public API: a small
 * residual net built node by node (a projection shortcut and an identity
 * one), trained for a few SGD steps on made-up images, saved as a
 * safetensors state_dict, read back and checked to give the same logits.
 *
 *   residual_net [OUT.safetensors]     (default residual_net.safetensors)
 *
 * The task: 1x16x16 images that are noise plus a bright square in one of
 * four quadrants; the class is the quadrant. Exit 0 when the loss has
 * fallen and the reloaded network computes what the trained one did. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "entropic.h"

enum { N = 256, HW = 16, CLASSES = 4, STEPS = 30 };

/* Noise, plus a 4x4 square of +2 in quadrant y[i]. */
static void make_data(float *x, int32_t *y) {
    ent_rng r;
    ent_rng_init(&r, 1, 0);
    ent_rng_normal_fill(&r, x, N * HW * HW, 0.5f);
    for (int i = 0; i < N; i++) {
        y[i] = i % CLASSES;
        const int r0 = (y[i] / 2) * 8 + 2, c0 = (y[i] % 2) * 8 + 2;
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) x[i * HW * HW + (r0 + a) * HW + c0 + b] += 2.0f;
    }
}

/* stem conv-bn-relu; a block with a 1x1 projection (stride 2); a block
 * with the identity shortcut; the global mean; a linear head. */
static ent_net *build(void) {
    ent_net *n = ent_net_new("residual-example");
    int h = ent_net_conv2d(n, "conv1", ENT_NET_INPUT, 8, 3, 1, 1, 0);
    h = ent_net_relu(n, "relu1", ent_net_batchnorm(n, "bn1", h));
    int b = ent_net_conv2d(n, "block1.conv1", h, 16, 3, 2, 1, 0);
    b = ent_net_relu(n, "block1.relu1", ent_net_batchnorm(n, "block1.bn1", b));
    b = ent_net_batchnorm(n, "block1.bn2", ent_net_conv2d(n, "block1.conv2", b, 16, 3, 1, 1, 0));
    int s = ent_net_conv2d(n, "block1.shortcut.0", h, 16, 1, 2, 0, 0);
    s = ent_net_batchnorm(n, "block1.shortcut.1", s);
    h = ent_net_relu(n, "block1.relu2", ent_net_add(n, "block1.add", b, s));
    b = ent_net_conv2d(n, "block2.conv1", h, 16, 3, 1, 1, 0);
    b = ent_net_relu(n, "block2.relu1", ent_net_batchnorm(n, "block2.bn1", b));
    b = ent_net_batchnorm(n, "block2.bn2", ent_net_conv2d(n, "block2.conv2", b, 16, 3, 1, 1, 0));
    h = ent_net_relu(n, "block2.relu2", ent_net_add(n, "block2.add", b, h));
    ent_net_dense(n, "fc", ent_net_global_avgpool(n, "pool", h), CLASSES);
    return n;
}

/* Every tensor of the model (weights and running statistics) by its
 * state_dict name, "format": "pt" as safetensors.torch writes it. */
static ent_status save(const char *path, const ent_model *m, const float *theta, const float *buffers) {
    int np, nb;
    const ent_tensor_info *p = ent_model_params(m, &np), *b = ent_model_buffers(m, &nb);
    ent_st_tensor t[256];
    if (np + nb > 256) return ent_fail(ENT_EINVAL, "too many tensors for this example");
    for (int i = 0; i < np + nb; i++) {
        const ent_tensor_info *ti = i < np ? &p[i] : &b[i - np];
        t[i] = (ent_st_tensor){ti->name, ti->ndim, {0}, (i < np ? theta : buffers) + ti->offset, ti->is_int64};
        memcpy(t[i].shape, ti->shape, sizeof t[i].shape);
    }
    const char *keys[] = {"format"}, *vals[] = {"pt"};
    return ent_safetensors_write(path, t, np + nb, keys, vals, 1);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "residual_net.safetensors";
    static float x[N * HW * HW], theta[40000], grad[40000], again[40000], buffers[1024];
    static int32_t y[N];
    make_data(x, y);
    ent_net *net = build();
    ent_model *m = NULL, *m2 = NULL;
    ent_status s = ent_model_new_net(&m, net, 1, HW, HW, CLASSES, N); /* builder errors surface here */
    const int64_t P = s == ENT_OK ? ent_model_n_param(m) : 0;
    if (s == ENT_OK && (P > 40000 || ent_model_n_buffer(m) > 1024))
        s = ent_fail(ENT_EINVAL, "the network outgrew this example's arrays");
    if (s != ENT_OK) {
        fprintf(stderr, "residual_net: %s\n", ent_last_error());
        return 2;
    }
    printf("residual_net: %d nodes, %lld parameters\n", ent_net_size(net), (long long)P);
    ent_model_init_params(m, theta, buffers, 7);
    ent_rng dropout;
    ent_rng_init(&dropout, 7, 2);
    float mom[40000] = {0};
    double first = 0.0, loss = 0.0;
    for (int step = 0; step < STEPS; step++) { /* SGD, lr 0.1, momentum 0.9, full batch */
        ent_model_run(m, theta, buffers, x, y, N, 1, &dropout, grad, &loss, NULL);
        if (step == 0) first = loss;
        for (int64_t i = 0; i < P; i++) mom[i] = 0.9f * mom[i] + grad[i], theta[i] -= 0.1f * mom[i];
        if (step % 10 == 0 || step == STEPS - 1) printf("step %2d  loss %.4f\n", step, loss);
    }
    int64_t right = 0;
    ent_model_run(m, theta, buffers, x, y, N, 0, NULL, NULL, &loss, &right);
    printf("trained: loss %.4f, %lld of %d right\n", loss, (long long)right, N);
    /* save, read back into a second model, compare the logits */
    ent_st_file *f = NULL;
    static float logits[N * CLASSES], buffers2[1024];
    memcpy(logits, ent_model_logits(m), sizeof logits);
    s = save(path, m, theta, buffers);
    if (s == ENT_OK) s = ent_safetensors_read(&f, path);
    if (s == ENT_OK) s = ent_model_new_net(&m2, net, 1, HW, HW, CLASSES, N);
    if (s == ENT_OK) s = ent_checkpoint_read_weights(f, path, m2, again, buffers2);
    if (s == ENT_OK) s = ent_model_run(m2, again, buffers2, x, y, N, 0, NULL, NULL, NULL, NULL);
    const int same = s == ENT_OK && memcmp(logits, ent_model_logits(m2), sizeof logits) == 0;
    printf("saved %s; read back: %s\n", path, same ? "the same logits" : "DIFFERENT logits");
    if (s != ENT_OK) fprintf(stderr, "residual_net: %s\n", ent_last_error());
    ent_st_file_free(f);
    ent_model_free(m), ent_model_free(m2);
    ent_net_free(net);
    return s == ENT_OK && same && loss < 0.5 * first ? 0 : 1;
}
