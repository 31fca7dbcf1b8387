/* exact.c — every eigenvalue of a Hessian as big as memory allows
 * (small-lenet, n = 47,658: 18.2 GB): one n x n double matrix and nothing
 * of its size besides.
 *
 * - Columns H e_j, ascending, in blocks of 32 through apply_many (one
 *   product per thread) straight into row j of H (row-major; the
 *   column-major view LAPACK sees is the same matrix transposed, and H is
 *   symmetric). Before each block the operator is told that the vectors
 *   vanish below j (rows_from): a network then runs only from the layer
 *   that owns j, and its products are right only from that layer's first
 *   parameter r0 on. The eigensolver reads the lower triangle alone
 *   (column-major, uplo 'L': row j of H from entry j on, all >= r0), so
 *   nothing is symmetrised and no second copy is made.
 * - The entries of [r0, j) of row j have a twin computed by an earlier
 *   column: their differences are the check of the products (asym).
 * - The lower triangle goes to columns_path as it is made (n (n+1) / 2
 *   doubles behind a header of magic, n and key); resume reads it back
 *   and continues from the last whole column.
 * - LAPACK dsyevd_2stage, eigenvalues only: its reduction to band form is
 *   BLAS-3 work and its workspace about 100 n doubles (bench/eig.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <math.h>

#include "entropic.h"

#define EXACT_BATCH 32
#define COLS_MAGIC 0x314c4f4348544e45ull /* "ENTHCOL1" */
#define COLS_HEADER 32

/* Doubles before column j in the file: columns c < j hold n - c each. */
static int64_t tri_before(int64_t n, int64_t j) { return j * n - j * (j - 1) / 2; }

double ent_spectrum_bytes(int64_t n) {
    int64_t iw = 0;
    const int64_t w = ent_sym_eig_work(n, &iw);
    return 8.0 * (double)n * (double)n + 8.0 * (double)n * (1 + EXACT_BATCH) + 8.0 * (double)w + 4.0 * (double)iw;
}

/* Open columns_path: a new file with its header, or (resume) the old one
 * checked against n and key, cut back to its last whole column, read into
 * H. *done = columns already there. */
static ent_status cols_open(const ent_spectrum_opts *o, int64_t n, double *H, FILE **out, int64_t *done) {
    *out = NULL, *done = 0;
    uint64_t hd[4] = {COLS_MAGIC, (uint64_t)n, o->key, 0};
    FILE *f = fopen(o->columns_path, o->resume ? "r+b" : "wb");
    if (!f) return ent_fail(o->resume ? ENT_ENOENT : ENT_EIO, "exact hessian: cannot open %s%s", o->columns_path,
                            o->resume ? " to resume" : "");
    if (!o->resume) {
        *out = f;
        return fwrite(hd, sizeof hd, 1, f) == 1 ? ENT_OK : ent_fail(ENT_EIO, "exact hessian: cannot write %s", o->columns_path);
    }
    uint64_t got[4] = {0};
    if (fread(got, sizeof got, 1, f) != 1 || got[0] != COLS_MAGIC || got[1] != (uint64_t)n || got[2] != o->key) {
        fclose(f);
        return ent_fail(ENT_EFORMAT, "exact hessian: %s holds no columns of this run (other network, weights or samples)",
                        o->columns_path);
    }
    fseeko(f, 0, SEEK_END);
    const int64_t vals = ((int64_t)ftello(f) - COLS_HEADER) / 8;
    int64_t j = 0;
    while (j < n && tri_before(n, j + 1) <= vals) j++;
    fseeko(f, COLS_HEADER, SEEK_SET);
    for (int64_t c = 0; c < j; c++)
        if (fread(H + c * n + c, sizeof(double), (size_t)(n - c), f) != (size_t)(n - c)) {
            fclose(f);
            return ent_fail(ENT_EIO, "exact hessian: cannot read column %lld of %s", (long long)c, o->columns_path);
        }
    if (ftruncate(fileno(f), COLS_HEADER + 8 * tri_before(n, j)) != 0 || fseeko(f, 0, SEEK_END) != 0) {
        fclose(f);
        return ent_fail(ENT_EIO, "exact hessian: cannot cut %s back to its whole columns", o->columns_path);
    }
    *out = f, *done = j;
    return ENT_OK;
}

/* Before any work: the memory, and the disk for the columns still to come. */
static ent_status check_room(const ent_spectrum_opts *o, int64_t n, double need) {
    if (o->max_bytes > 0 && need > o->max_bytes)
        return ent_fail(ENT_ENOMEM, "exact hessian: %lld parameters need %.2f GB of memory (the matrix, %lld^2 doubles, "
                        "%.2f GB), more than the %.2f GB allowed (--max-memory); fewer --samples do not help: "
                        "take --params, or lanczos or slq", (long long)n, need / 1e9, (long long)n,
                        8.0 * (double)n * (double)n / 1e9, o->max_bytes / 1e9);
    if (!o->columns_path) return ENT_OK;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", o->columns_path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    struct statvfs fs;
    const double disk = 8.0 * (double)tri_before(n, n) + COLS_HEADER;
    if (statvfs(dir, &fs) == 0 && (double)fs.f_bavail * (double)fs.f_frsize < disk && !o->resume)
        return ent_fail(ENT_EIO, "exact hessian: the columns file needs %.2f GB on disk, %s has %.2f GB free", disk / 1e9,
                        dir, (double)fs.f_bavail * (double)fs.f_frsize / 1e9);
    return ENT_OK;
}

/* Rows [r0, j+k) of the block's columns j..j+k-1 against their twins in
 * earlier columns (row i, entry c, for i < c): the largest difference;
 * and the largest |entry| of the rows computed. Row i outer, so both
 * sides are read in runs of k. */
static void check_block(const double *H, int64_t n, int64_t j, int64_t k, int64_t r0, double *diff, double *big) {
    for (int64_t i = r0; i < j + k; i++)
        for (int64_t c = i + 1 > j ? i + 1 : j; c < j + k; c++) {
            const double d = fabs(H[c * n + i] - H[i * n + c]);
            if (d > *diff) *diff = d;
        }
    for (int64_t c = j; c < j + k; c++)
        for (int64_t i = r0; i < n; i++)
            if (fabs(H[c * n + i]) > *big) *big = fabs(H[c * n + i]);
}

/* Columns done .. n-1 into H, each block written to f. */
static ent_status assemble(const ent_hvp *h, const ent_spectrum_opts *o, double *H, int64_t done, FILE *f,
                           ent_spectrum_info *info) {
    const int64_t n = h->n, batch = h->apply_many ? EXACT_BATCH : 1;
    double *e = calloc((size_t)(n * batch), sizeof(double));
    if (!e) return ent_fail(ENT_ENOMEM, "exact hessian: out of memory");
    ent_status s = ENT_OK;
    const double t0 = ent_time_seconds();
    double diff = 0.0, big = 0.0;
    for (int64_t j = done; j < n && s == ENT_OK; j += batch) {
        const int64_t k = n - j < batch ? n - j : batch;
        const int64_t r0 = h->rows_from ? h->rows_from(h->ctx, j) : 0;
        for (int64_t c = 0; c < k; c++) e[c * n + j + c] = 1.0;
        if (h->apply_many) s = h->apply_many(h->ctx, k, e, H + j * n);
        else s = ent_hvp_apply(h, e, H + j * n);
        for (int64_t c = 0; c < k; c++) e[c * n + j + c] = 0.0;
        if (s != ENT_OK) break;
        check_block(H, n, j, k, r0, &diff, &big);
        for (int64_t c = j; f && c < j + k; c++)
            if (fwrite(H + c * n + c, sizeof(double), (size_t)(n - c), f) != (size_t)(n - c))
                s = ent_fail(ENT_EIO, "exact hessian: cannot write column %lld to %s", (long long)c, o->columns_path);
        if (f && s == ENT_OK && fflush(f) != 0) s = ent_fail(ENT_EIO, "exact hessian: cannot write %s", o->columns_path);
        if (s == ENT_OK && o->progress) {
            if (o->progress(o->ctx, j + k, n, ent_time_seconds() - t0) && j + k < n)
                s = ent_fail(ENT_EINVAL, "exact hessian: stopped after %lld of %lld columns%s%s", (long long)(j + k),
                             (long long)n, o->columns_path ? ", kept in " : "", o->columns_path ? o->columns_path : "");
        }
    }
    if (h->rows_from) h->rows_from(h->ctx, 0);
    free(e);
    info->asym_abs = diff, info->max_abs = big, info->asym = big > 0 ? diff / big : 0.0;
    info->products_seconds = ent_time_seconds() - t0;
    return s;
}

ent_status ent_hessian_spectrum(const ent_hvp *h, const ent_spectrum_opts *o, double *eig, ent_spectrum_info *info) {
    const int64_t n = h->n;
    memset(info, 0, sizeof *info);
    if (n < 1) return ent_fail(ENT_EINVAL, "exact hessian: dimension %lld", (long long)n);
    info->bytes = ent_spectrum_bytes(n);
    ent_status s = check_room(o, n, info->bytes + o->extra_bytes);
    if (s != ENT_OK) return s;
    double *H = ent_alloc(sizeof(double) * (size_t)n * (size_t)n);
    if (!H) return ent_fail(ENT_ENOMEM, "exact hessian: cannot allocate the %.2f GB matrix (%lld^2 doubles)",
                            8.0 * (double)n * (double)n / 1e9, (long long)n);
    FILE *f = NULL;
    int64_t done = 0;
    if (o->columns_path) s = cols_open(o, n, H, &f, &done);
    info->resumed = done;
    if (s == ENT_OK) s = assemble(h, o, H, done, f, info);
    if (f && fclose(f) != 0 && s == ENT_OK) s = ent_fail(ENT_EIO, "exact hessian: cannot write %s", o->columns_path);
    const double t0 = ent_time_seconds();
    if (s == ENT_OK) s = ent_sym_eig_uplo(H, n, eig, 0, 'L', o->eig_threads > 0 ? o->eig_threads : 1);
    info->eig_seconds = ent_time_seconds() - t0;
    ent_free_aligned(H);
    return s;
}
