/* mnistfc.c — the fully connected MNIST network of Entropy-SGD (its PyTorch
 * module: docs/models.md): input dropout, 784-1024-1024-10 with BatchNorm, ReLU and
 * dropout after each hidden layer (the order of the authors' PyTorch code:
 * Linear, BatchNorm1d, ReLU, Dropout). About 1.87M parameters. */
#include "models/model_internal.h"

static void hidden(ent_model *m, const char *fc, const char *bn, int64_t out) {
    ent_layer *l = ent_model_add(m, ENT_LAYER_DENSE, fc);
    l->dense.out = out;
    ent_model_add(m, ENT_LAYER_BATCHNORM, bn);
    ent_model_add(m, ENT_LAYER_RELU, "relu");
    ent_model_add(m, ENT_LAYER_DROPOUT, "drop")->dropout.p = m->opts.dropout;
}

ent_status ent_preset_mnistfc(ent_model *m) {
    if (m->opts.dropout < 0) m->opts.dropout = 0.5f;
    if (m->opts.input_dropout < 0) m->opts.input_dropout = 0.2f;
    ent_model_add(m, ENT_LAYER_DROPOUT, "drop_in")->dropout.p = m->opts.input_dropout;
    hidden(m, "fc1", "bn1", 1024);
    hidden(m, "fc2", "bn2", 1024);
    ent_model_add(m, ENT_LAYER_DENSE, "fc3")->dense.out = m->n_classes;
    return ENT_OK;
}
