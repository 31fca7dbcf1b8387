/* par.h — when an element-wise loop forks the OpenMP team (internal).
 *
 * One threshold for the vector loops of the layers, the optimizers, the
 * replica coupling, ent_vec_* and the R-operator (the layers had 32768 or
 * 65536, the rest 32768 each in its own #define). Measured
 * with `entropic bench` at 2 threads and OMP_WAIT_POLICY=passive (mnistfc,
 * lenet, small-lenet; 2026-11-22): 32768 was as fast as or faster than
 * 262144 and 1048576 on every row (up to 1.5x on small-lenet), although
 * each fork wakes a sleeping thread. Layer by layer (bench/layers.c,
 * 2026-11-23) a higher threshold runs the small layers at one-thread speed
 * but the next parallel call pays the wake-up instead: the step is no
 * faster. Fewer parallel phases per step, not fewer forks, would help. */
#ifndef ENT_PAR_H
#define ENT_PAR_H

#ifndef ENT_PAR_MIN
#define ENT_PAR_MIN 32768 /* elements (or, for max-pool, window reads) */
#endif

#endif
