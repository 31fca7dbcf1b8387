/* registry.c — the experiments in the order --list prints them, and what
 * the sweep and the tests read from a definition: an arm's train command
 * for a budget, and the value of one of its options. */
#include <string.h>

#include "reproduce/repro.h"
#include "reproduce/repro_internal.h"

extern const repro_exp repro_esgd_mnistfc, repro_esgd_lenet, repro_esgd_allcnn, repro_esgd_ptb,
    repro_esgd_charlstm, repro_sgld_lenet, repro_sgld_allcnn, repro_relax_mnistfc, repro_relax_lenet,
    repro_parle_lenet, repro_rsgd_flatness, repro_hessian_fig1, repro_hessian_fig3, repro_tiny;

static const repro_exp *const all[] = {
    &repro_esgd_mnistfc, &repro_esgd_lenet,  &repro_esgd_allcnn,   &repro_esgd_ptb,     &repro_esgd_charlstm,
    &repro_sgld_lenet,   &repro_sgld_allcnn, &repro_relax_mnistfc, &repro_relax_lenet,  &repro_parle_lenet,
    &repro_rsgd_flatness, &repro_hessian_fig1, &repro_hessian_fig3, &repro_tiny,
};

const repro_exp *const *repro_experiments(int *n) {
    *n = (int)(sizeof all / sizeof *all);
    return all;
}

const repro_exp *repro_find(const char *name) {
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (strcmp(all[i]->name, name) == 0) return all[i];
    return NULL;
}

int repro_split(const char *s, repro_words *w) {
    for (const char *p = s; p && *p;) {
        p += strspn(p, " ");
        const size_t len = strcspn(p, " ");
        if (!len) break;
        if (w->n == REPRO_MAX_WORDS || w->used + len + 1 > sizeof w->store) return -1;
        char *dst = w->store + w->used;
        memcpy(dst, p, len);
        dst[len] = 0;
        w->word[w->n++] = dst;
        w->used += len + 1;
        p += len;
    }
    return 0;
}

int repro_arm_words(const repro_exp *e, const repro_arm *a, repro_budget b, int paper_data, repro_words *w) {
    const char *parts[] = {e->common, paper_data ? e->paper_set : "", b == REPRO_PAPER ? e->paper_val : e->short_set,
                           a->args, b == REPRO_PAPER ? a->paper : a->shrt};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        if (repro_split(parts[i], w) != 0) return -1;
    return 0;
}

const char *repro_option(const repro_exp *e, const repro_arm *a, repro_budget b, const char *name, char *buf,
                         size_t cap) {
    repro_words w = {0};
    if (repro_arm_words(e, a, b, 0, &w) != 0) return NULL;
    const char *found = NULL;
    for (int i = 0; i < w.n; i++) {
        if (strncmp(w.word[i], "--", 2) != 0 || strcmp(w.word[i] + 2, name) != 0) continue;
        found = i + 1 < w.n && strncmp(w.word[i + 1], "--", 2) != 0 ? w.word[i + 1] : "";
    }
    if (!found) return NULL;
    snprintf(buf, cap, "%s", found);
    return buf;
}

const char *repro_metric_name(const repro_exp *e) {
    if (strcmp(e->metric, "test_error") == 0) return "test error %";
    if (strcmp(e->metric, "test_perplexity") == 0) return "test perplexity";
    return "test loss (nats per character)";
}

double repro_metric_scale(const repro_exp *e) { return strcmp(e->metric, "test_error") == 0 ? 100 : 1; }
