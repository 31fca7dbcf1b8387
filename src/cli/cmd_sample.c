/* cmd_sample.c — `entropic sample`: text from a model trained on text.
 * The checkpoint's network is rebuilt for windows of one token and a batch
 * of one; the prime is read through it token by token (carrying the
 * state), then each next token is drawn from softmax(logits / T) with the
 * seed's stream and fed back. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/analysis_cli.h"
#include "cli/args.h"
#include "cli/cli.h"

typedef struct {
    ent_ckpt c;
    ent_vocab *v;
    float *state[2];
    int flip;
    double temperature;
    ent_rng rng;
} sampler;

/* One token through the model: the state moves on, the logits are left in
 * the model. */
static ent_status feed(sampler *s, int32_t id) {
    const float x = (float)id;
    const int32_t y = 0; /* the loss needs a label; its value is not used */
    const int carry = ent_model_state_size(s->c.m) > 0;
    ent_status st = ent_model_run_state(s->c.m, s->c.theta, s->c.buffers, carry ? s->state[s->flip] : NULL,
                                        carry ? s->state[!s->flip] : NULL, &x, &y, 1, 0, NULL, NULL, NULL, NULL);
    s->flip = !s->flip;
    return st;
}

/* A draw from softmax(logits / temperature), in double. */
static int32_t draw(sampler *s) {
    const float *z = ent_model_logits(s->c.m);
    const int64_t V = ent_vocab_size(s->v);
    double mx = z[0], total = 0.0;
    for (int64_t k = 1; k < V; k++) mx = z[k] > mx ? z[k] : mx;
    for (int64_t k = 0; k < V; k++) total += exp((z[k] - mx) / s->temperature);
    double u = ent_rng_uniform(&s->rng) * total;
    for (int64_t k = 0; k < V; k++) {
        u -= exp((z[k] - mx) / s->temperature);
        if (u <= 0) return (int32_t)k;
    }
    return (int32_t)(V - 1);
}

/* A token as text: words are separated by spaces, <eos> ends a line. */
static void put(const sampler *s, int32_t id) {
    const char *t = ent_vocab_token(s->v, id);
    if (ent_vocab_kind_of(s->v) == ENT_VOCAB_CHARS) fputs(t, stdout);
    else if (strcmp(t, "<eos>") == 0) fputc('\n', stdout);
    else printf("%s ", t);
}

/* The first tokens: the prime, or with none a line start (<eos> or a
 * newline character when the vocabulary has one, else token 0). */
static ent_status prime_ids(const sampler *s, const char *prime, int32_t **ids, int64_t *n) {
    const size_t len = strlen(prime);
    *ids = malloc(sizeof **ids * (len + 1));
    if (!*ids) return ent_fail(ENT_ENOMEM, "out of memory");
    if (len) return ent_vocab_encode(s->v, prime, *ids, (int64_t)len + 1, n);
    const int words = ent_vocab_kind_of(s->v) == ENT_VOCAB_WORDS;
    const int32_t start = ent_vocab_find(s->v, words ? "<eos>" : "\n", words ? 5 : 1);
    (*ids)[0] = start >= 0 ? start : 0;
    *n = 1;
    return ENT_OK;
}

static ent_status run(sampler *s, const char *path, const char *prime, int64_t length) {
    int64_t T = 0, n = 0;
    int32_t *ids = NULL;
    ent_status st = ent_ckpt_open(&s->c, path, NULL);
    if (st == ENT_OK) st = ent_ckpt_vocab(&s->c, &s->v, &T);
    if (st == ENT_OK) st = ent_ckpt_build_tokens(&s->c, s->v, 1, 1);
    const int64_t S = st == ENT_OK ? ent_model_state_size(s->c.m) : 0;
    for (int k = 0; st == ENT_OK && k < 2; k++) {
        s->state[k] = ent_alloc(sizeof(float) * (size_t)(S + 1));
        if (!s->state[k]) st = ent_fail(ENT_ENOMEM, "out of memory");
        else ent_vec_zero(s->state[k], S + 1);
    }
    if (st == ENT_OK) st = prime_ids(s, prime, &ids, &n);
    for (int64_t i = 0; st == ENT_OK && i < n; i++) {
        if (prime[0]) put(s, ids[i]);
        st = feed(s, ids[i]);
    }
    for (int64_t i = 0; st == ENT_OK && i < length; i++) {
        const int32_t id = draw(s);
        put(s, id);
        st = feed(s, id);
    }
    if (st == ENT_OK) fputc('\n', stdout);
    fflush(stdout);
    free(ids);
    return st;
}

int ent_cmd_sample(int argc, char **argv) {
    char ckpt[512] = "", prime[4096] = "";
    double temperature = 1.0;
    int64_t length = 500;
    uint64_t seed = 1;
    int threads = 1, help = 0;
    ent_arg spec[] = {
        {.name = "checkpoint", .type = ARG_STRING, .dst = ckpt, .cap = sizeof ckpt, .help = "checkpoint of a model trained on text (entropic train --dataset text|ptb)"},
        {.name = "temperature", .type = ARG_DOUBLE, .dst = &temperature, .help = "softmax temperature (> 0; below 1 is more conservative) [1]"},
        {.name = "length", .type = ARG_I64, .dst = &length, .help = "tokens to generate [500]"},
        {.name = "prime", .type = ARG_STRING, .dst = prime, .cap = sizeof prime, .help = "text to start from (printed, then continued); words separated by spaces"},
        {.name = "seed", .type = ARG_U64, .dst = &seed, .help = "seed of the draws [1]"},
        {.name = "threads", .type = ARG_INT, .dst = &threads, .help = "threads [1]"},
        {.name = "help", .type = ARG_BOOL, .dst = &help, .help = "this help"},
    };
    const int n = (int)(sizeof spec / sizeof spec[0]);
    if (ent_args_parse(spec, n, argc, argv, "sample", NULL, 0, NULL) != 0) return 2;
    if (help) {
        printf("usage: entropic sample --checkpoint FILE [--temperature T] [--length N] [--prime TEXT] [--seed S]\n\n"
               "Prints text from a character or word model: the prime (or a line start), then N tokens\n"
               "drawn one at a time from softmax(logits / T), each fed back with the carried state.\n\n");
        ent_args_help(spec, n);
        return 0;
    }
    if (!ckpt[0] || !(temperature > 0) || length < 0) {
        fprintf(stderr, "entropic sample: %s\n", !ckpt[0] ? "--checkpoint FILE is required"
                                                            : "--temperature must be > 0 and --length >= 0");
        return 2;
    }
    ent_set_threads(threads);
    sampler s = {.temperature = temperature};
    ent_rng_init(&s.rng, seed, 0);
    ent_status st = run(&s, ckpt, prime, length);
    ent_ckpt_free(&s.c);
    ent_vocab_free(s.v);
    ent_free_aligned(s.state[0]);
    ent_free_aligned(s.state[1]);
    return ent_cli_status(st, "sample");
}
