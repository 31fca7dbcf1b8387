/* par.h — when an element-wise loop forks the OpenMP team (internal).
 *
 * One threshold for the vector loops of the layers, the optimizers, the
 * replica coupling, ent_vec_* and the R-operator (the layers had 32768 or
 * 65536, the rest 32768 each in its own #define). Measured
 * with `entropic bench` at 2 threads and OMP_WAIT_POLICY=passive (mnistfc,
 * lenet, small-lenet; 2026-11-22): 32768 was as fast as or faster than
 * 262144 and 1048576 on every row (up to 1.5x on small-lenet), although
 * each fork wakes a sleeping thread; raising it only took work away from
 * the second core. */
#ifndef ENT_PAR_H
#define ENT_PAR_H

#ifndef ENT_PAR_MIN
#define ENT_PAR_MIN 32768 /* elements (or, for max-pool, window reads) */
#endif

#endif
