/* coupled.h — replicated SGD with the coupling term taken implicitly, in
 * two halves around the replicas' mean (replica/couple.c calls them; the
 * optimizer stays opaque there). Internal to the library.
 *
 * Per replica, with G = g + wd x the data gradient at the old x and
 * k (x_new - c) the coupling force at the NEW point (c the new mean):
 *   1. ent_sgd_free_step: x_free = the SGD rule's step on G alone, the
 *      momentum buffer not yet written;
 *   2. the caller takes c = mean of the x_free (the forces sum to zero over
 *      the replicas, so the mean is not moved by them);
 *   3. ent_sgd_coupled_finish: x_new = c + (x_free - c) / (1 + a), the
 *      buffer updated with G + k (x_new - c), a = k ent_sgd_coupling_share. */
#ifndef ENT_OPTIM_COUPLED_H
#define ENT_OPTIM_COUPLED_H

#include "core/pieces.h"
#include "entropic.h"

/* Draws a batch, evaluates the gradient at x, and moves x to x_free. Only
 * for the SGD rule (kind ENT_OPTIM_SGD). */
ent_status ent_sgd_free_step(ent_optim *o, const ent_objective *obj, float *x,
                             double lr_scale, double *loss);
/* lr times the weight of this step's gradient in the move of x: 1 without
 * momentum, c (heavy ball), 1 + m c (Nesterov); c = ent_sgd_grad_weight. */
double ent_sgd_coupling_share(const ent_optim *o, double lr_scale);
/* x (= x_free on entry) <- c + (x - c) shrink, shrink = 1 / (1 + k share),
 * and the momentum buffer; counts the step. */
void ent_sgd_coupled_finish(ent_optim *o, float *x, const float *c, float k, float shrink,
                            const ent_pieces *sp);

#endif
