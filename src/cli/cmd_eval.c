/* cmd_eval.c — `entropic eval`: loss and error of a checkpoint on a data set. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/analysis_cli.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "cli/data_cli.h"

static ent_status evaluate(const char *ckpt, const char *model, const ent_data_source *data, int split,
                           double *loss, double *err, int64_t *n, char *model_name) {
    ent_dataset *d = NULL;
    ent_ckpt c;
    ent_status s = ent_ckpt_open(&c, ckpt, model);
    if (s == ENT_OK) s = ent_cli_dataset(&d, data, split ? ENT_SPLIT_TRAIN : ENT_SPLIT_TEST, 0, ckpt);
    if (s == ENT_OK) s = ent_ckpt_preprocess(&c, d, NULL, 0);
    if (s == ENT_OK) s = ent_ckpt_build(&c, d, 500);
    if (s == ENT_OK) s = ent_model_evaluate(c.m, c.theta, c.buffers, d, loss, err);
    if (s == ENT_OK) *n = d->n;
    snprintf(model_name, 32, "%s", c.model);
    ent_ckpt_free(&c);
    ent_dataset_free(d);
    return s;
}

static int eval_tokens(const char *ckpt, const char *model, const ent_data_source *data, int split, int64_t batch,
                       int json) {
    static const char *const SPLITS[3] = {"test", "train", "valid"};
    ent_token_eval e;
    ent_status s = ent_cli_eval_tokens(ckpt, model, data, split, batch, &e);
    if (s != ENT_OK) return ent_cli_status(s, "eval");
    if (json) {
        ent_json j;
        ent_json_init(&j);
        ent_json_begin_object(&j, NULL);
        ent_json_string(&j, "checkpoint", ckpt);
        ent_json_string(&j, "model", e.model);
        ent_json_string(&j, "dataset", data->name);
        ent_json_string(&j, "split", SPLITS[split]);
        ent_json_int(&j, "tokens", e.tokens);
        ent_json_number(&j, "loss", e.loss);
        ent_json_number(&j, "error", e.error);
        ent_json_number(&j, "perplexity", exp(e.loss));
        if (e.chars) ent_json_number(&j, "bpc", e.loss / log(2.0));
        ent_json_end_object(&j);
        printf("%.*s\n", (int)j.len, j.buf);
        ent_json_free(&j);
    } else {
        printf("%s on %s/%s (%lld tokens): loss %.4f  perplexity %.3f", e.model, data->name, SPLITS[split],
               (long long)e.tokens, e.loss, exp(e.loss));
        if (e.chars) printf("  bpc %.4f", e.loss / log(2.0));
        printf("  error %.2f%%\n", 100 * e.error);
    }
    return 0;
}

int ent_cmd_eval(int argc, char **argv) {
    char ckpt[512] = "", model_opt[512] = "";
    ent_data_source data = {.name = "fashion-mnist"};
    int split = 0, json = 0, threads = 0, help = 0;
    int64_t batch = 0;
    ent_arg own[] = {
        {.name = "checkpoint", .type = ARG_STRING, .dst = ckpt, .cap = sizeof ckpt, .help = "checkpoint file (safetensors) to evaluate"},
        {.name = "model", .type = ARG_STRING, .dst = model_opt, .cap = sizeof model_opt, .help = "network preset, for a checkpoint without entropic metadata (PyTorch's save_file)"},
        {.name = "split", .type = ARG_CHOICE, .dst = &split, .choices = "test|train|valid", .help = "which split (valid: text and ptb)"},
        {.name = "batch-size", .type = ARG_I64, .dst = &batch, .help = "text, ptb: streams read at once (0 = the training run's)"},
        {.name = "json", .type = ARG_BOOL, .dst = &json, .help = "print JSON"},
        {.name = "threads", .type = ARG_INT, .dst = &threads, .help = "threads (0 = all cores)"},
        {.name = "help", .type = ARG_BOOL, .dst = &help, .help = "this help"},
    };
    ent_arg spec[sizeof own / sizeof own[0] + ENT_CLI_DATA_ARGS];
    int n = ent_cli_spec_with_data(spec, own, (int)(sizeof own / sizeof own[0]), 2, &data);
    if (ent_args_parse(spec, n, argc, argv, "eval", NULL, 0, NULL) != 0) return 2;
    if (help) {
        printf("usage: entropic eval --checkpoint FILE [--model NAME] --dataset " ENT_CLI_DATASETS "|" ENT_CLI_TEXT_DATASETS
               " [--split test|train|valid] [--json]\n\n"
               "Prints the mean cross-entropy loss and the error of the checkpoint's network\n"
               "(evaluation mode: no dropout, batch-norm running statistics). Models trained on text\n"
               "print perplexity (and bits per character) over the split, read as their run read it.\n\n");
        ent_args_help(spec, n);
        return 0;
    }
    if (!ckpt[0]) {
        fprintf(stderr, "entropic eval: --checkpoint FILE is required\n");
        return 2;
    }
    if (threads < 0 || threads > ENT_MAX_THREADS) {
        fprintf(stderr, "entropic eval: --threads must be in 0..%d, got %d\n", ENT_MAX_THREADS, threads);
        return 2;
    }
    ent_set_threads(threads);
    if (strcmp(data.name, "text") == 0 || strcmp(data.name, "ptb") == 0) return eval_tokens(ckpt, model_opt, &data, split, batch, json);
    if (split == 2) {
        fprintf(stderr, "entropic eval: --split valid: only text and ptb have a validation split\n");
        return 2;
    }
    double loss = 0, err = 0;
    int64_t count = 0;
    char model[32] = "";
    ent_status s = evaluate(ckpt, model_opt, &data, split, &loss, &err, &count, model);
    if (s != ENT_OK) return ent_cli_status(s, "eval");
    const char *sp = split ? "train" : "test";
    if (json) {
        ent_json j;
        ent_json_init(&j);
        ent_json_begin_object(&j, NULL);
        ent_json_string(&j, "checkpoint", ckpt);
        ent_json_string(&j, "model", model);
        ent_json_string(&j, "dataset", data.name);
        ent_json_string(&j, "split", sp);
        ent_json_int(&j, "samples", count);
        ent_json_number(&j, "loss", loss);
        ent_json_number(&j, "error", err);
        ent_json_end_object(&j);
        printf("%.*s\n", (int)j.len, j.buf);
        ent_json_free(&j);
    } else {
        printf("%s on %s/%s (%lld samples): loss %.4f  error %.2f%%\n", model, data.name, sp,
               (long long)count, loss, 100 * err);
    }
    return 0;
}
