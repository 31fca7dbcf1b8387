/* replica_eval.c — evaluation of the replica methods (docs/algorithms.md §5.2):
 * the centre's batch-norm statistics as the replicas' mean, every
 * replica's own test error, and the ensemble's (the softmax outputs
 * averaged over the y replicas, then the argmax). The centre itself is
 * evaluated by train.c like any single network. */
#include <math.h>
#include <stdlib.h>

#include "train/train_internal.h"

ent_status ent_replica_average_buffers(ent_run_state *r) {
    const int64_t B = ent_model_n_buffer(r->model);
    if (B == 0) return ENT_OK;
    ent_vec_copy(r->buffers, r->w[0].buffers, B);
    for (int i = 1; i < r->n_workers; i++) ent_vec_axpy(r->buffers, 1.0f, r->w[i].buffers, B);
    ent_status s = ent_dist_allreduce_sum(r->buffers, B);
    if (s != ENT_OK) return s;
    ent_vec_scal(r->buffers, (float)(1.0 / ent_replicas_count(r->reps)), B);
    /* Counters (num_batches_tracked): every replica counts the same
     * batches, so the mean is that integer up to rounding. */
    int nb;
    const ent_tensor_info *bt = ent_model_buffers(r->model, &nb);
    for (int t = 0; t < nb; t++)
        for (int64_t k = 0; bt[t].is_int64 && k < bt[t].numel; k++)
            r->buffers[bt[t].offset + k] = roundf(r->buffers[bt[t].offset + k]);
    return ENT_OK;
}

/* probs[j, :] += softmax(logits[j, :]) for j < n. */
static void add_softmax(float *probs, const float *logits, int64_t n, int64_t k) {
    for (int64_t j = 0; j < n; j++) {
        const float *z = logits + j * k;
        float mx = z[0];
        for (int64_t c = 1; c < k; c++) mx = z[c] > mx ? z[c] : mx;
        double sum = 0.0;
        for (int64_t c = 0; c < k; c++) sum += exp((double)(z[c] - mx));
        for (int64_t c = 0; c < k; c++) probs[j * k + c] += (float)(exp((double)(z[c] - mx)) / sum);
    }
}

/* Ensemble loss and hits of one batch from the summed probabilities. */
static void score_ensemble(const float *probs, const int32_t *lab, int64_t n, int64_t k, int y,
                           double *lsum, int64_t *hits) {
    for (int64_t j = 0; j < n; j++) {
        const float *p = probs + j * k;
        int64_t best = 0;
        for (int64_t c = 1; c < k; c++) best = p[c] > p[best] ? c : best;
        *hits += best == lab[j];
        double pl = (double)p[lab[j]] / y;
        *lsum -= log(pl > 1e-30 ? pl : 1e-30);
    }
}

ent_status ent_replica_evaluate(ent_run_state *r, const ent_dataset *test, float *probs,
                                double *rep_err, double *ens_loss, double *ens_err) {
    const int nl = r->n_workers, y = ent_replicas_count(r->reps);
    const int64_t k = test->n_classes, per = test->c * test->h * test->w;
    double *wrong = calloc((size_t)nl, sizeof *wrong), ens_l = 0.0;
    int64_t hits = 0;
    if (!wrong) return ent_fail(ENT_ENOMEM, "evaluation: out of memory");
    ent_status s = ENT_OK;
    for (int64_t i0 = 0; s == ENT_OK && i0 < test->n; i0 += ENT_EVAL_BATCH) {
        const int64_t n = test->n - i0 < ENT_EVAL_BATCH ? test->n - i0 : ENT_EVAL_BATCH;
        ent_vec_zero(probs, n * k);
        for (int i = 0; s == ENT_OK && i < nl; i++) {
            int64_t right = 0;
            s = ent_model_run(r->w[i].model, ent_replicas_theta(r->reps, i), r->w[i].buffers,
                              test->x + i0 * per, test->y + i0, n, 0, NULL, NULL, NULL, &right);
            wrong[i] += (double)(n - right);
            if (s == ENT_OK) add_softmax(probs, ent_model_logits(r->w[i].model), n, k);
        }
        if (s == ENT_OK) s = ent_dist_allreduce_sum(probs, n * k);
        if (s == ENT_OK) score_ensemble(probs, test->y + i0, n, k, y, &ens_l, &hits);
    }
    for (int i = 0; i < nl; i++) wrong[i] /= (double)test->n;
    if (s == ENT_OK) s = ent_dist_gather(wrong, rep_err, (int64_t)sizeof *wrong * nl);
    free(wrong);
    *ens_loss = ens_l / (double)test->n;
    *ens_err = 1.0 - (double)hits / (double)test->n;
    return s;
}
