/* idx.c — IDX image/label files (MNIST, Fashion-MNIST), raw or gzip.
 *
 * zlib's gzread reads gzip and plain files alike. Everything in the header
 * is validated before any allocation that depends on it, and every error
 * names the file. Bytes after the data the header promises are ignored
 * (a few distributions append nothing, but a stray byte is harmless and
 * the header, which we trust only after checking, says where data ends). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "entropic.h"

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_MAX_ELEMS 100000000LL /* 1e8 */
#define IDX_MAX_SIDE 4096u
#define IDX_CLASSES 10

typedef struct {
    gzFile gz;
    const char *path;
    int64_t size; /* of the file on disk (compressed, for gzip) */
} idx_file;

/* Deflate expands at most 1032:1, so a gzip file's size bounds what it can
 * hold; a raw file must hold it all. Checked before the data set is
 * allocated: two 24-byte files promising 10^8 images would otherwise
 * commit 400 MB first. */
#define GZIP_MAX_RATIO 1032

static ent_status check_promise(const idx_file *f, int64_t header, int64_t bytes, const char *what) {
    const int raw = gzdirect(f->gz);
    const double room = raw ? (double)(f->size - header) : (double)f->size * GZIP_MAX_RATIO;
    if ((double)bytes <= room) return ENT_OK;
    if (raw)
        return ent_fail(ENT_EFORMAT, "%s: truncated: header promises %lld %s bytes, file has only %lld", f->path,
                        (long long)bytes, what, (long long)(f->size > header ? f->size - header : 0));
    return ent_fail(ENT_EFORMAT, "%s: truncated: header promises %lld %s bytes, more than a gzip file of %lld bytes "
                    "can hold (deflate expands at most %d:1)", f->path, (long long)bytes, what, (long long)f->size,
                    GZIP_MAX_RATIO);
}

static ent_status idx_open(idx_file *f, const char *path) {
    struct stat st;
    f->path = path;
    f->gz = NULL;
    if (stat(path, &st) != 0) {
        int e = errno;
        return ent_fail(e == ENOENT ? ENT_ENOENT : ENT_EIO, "%s: %s", path,
                        strerror(e));
    }
    if (S_ISDIR(st.st_mode))
        return ent_fail(ENT_EIO, "%s: is a directory", path);
    if (!S_ISREG(st.st_mode)) /* a FIFO would block, a device never end */
        return ent_fail(ENT_EIO, "%s: not a regular file", path);
    f->size = (int64_t)st.st_size;
    f->gz = gzopen(path, "rb");
    if (!f->gz) {
        int e = errno;
        return ent_fail(ENT_EIO, "%s: cannot open: %s", path,
                        e ? strerror(e) : "zlib error");
    }
    gzbuffer(f->gz, 1 << 17);
    return ENT_OK;
}

static void idx_close(idx_file *f) {
    if (f->gz) gzclose(f->gz);
    f->gz = NULL;
}

/* Read up to n bytes; returns the count read, or -1 on a zlib error (the
 * message is then set). A short count means end of (decompressed) data. */
static int64_t idx_read(idx_file *f, void *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        size_t want = n - got;
        if (want > (1u << 30)) want = 1u << 30;
        int r = gzread(f->gz, (char *)buf + got, (unsigned)want);
        if (r < 0) {
            int zerr = 0;
            const char *m = gzerror(f->gz, &zerr);
            ent_fail(ENT_EFORMAT, "%s: corrupt gzip data: %s", f->path,
                     m ? m : "unknown zlib error");
            return -1;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    return (int64_t)got;
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

/* Reads magic and ndim dimensions into dims. */
static ent_status read_header(idx_file *f, uint32_t magic, int ndim,
                              uint32_t *dims) {
    unsigned char h[16];
    size_t need = 4 + 4 * (size_t)ndim;
    int64_t got = idx_read(f, h, need);
    if (got < 0) return ENT_EFORMAT;
    if (got >= 4 && be32(h) != magic)
        return ent_fail(ENT_EFORMAT,
                        "%s: bad magic number: expected 0x%08x (%s), got 0x%08x",
                        f->path, magic,
                        magic == IDX_MAGIC_IMAGES ? "IDX ubyte images, 3 dims"
                                                  : "IDX ubyte labels, 1 dim",
                        be32(h));
    if ((size_t)got < need)
        return ent_fail(ENT_EFORMAT,
                        "%s: truncated header: %lld bytes, expected %zu",
                        f->path, (long long)got, need);
    for (int d = 0; d < ndim; d++) dims[d] = be32(h + 4 + 4 * d);
    return ENT_OK;
}

ent_status ent_idx_load(ent_dataset **out, const char *images_path,
                        const char *labels_path, float mean, float std) {
    if (!out) return ent_fail(ENT_EINVAL, "ent_idx_load: NULL output");
    *out = NULL;
    if (!images_path || !labels_path)
        return ent_fail(ENT_EINVAL, "ent_idx_load: NULL path");
    if (!(std > 0) || !(mean == mean))
        return ent_fail(ENT_EINVAL, "ent_idx_load: bad normalisation mean %g std %g",
                        (double)mean, (double)std);

    ent_status s;
    idx_file fi = {0}, fl = {0};
    ent_dataset *d = NULL;
    unsigned char *chunk = NULL;
    uint32_t idims[3] = {0, 0, 0}, ldims[1] = {0};

    /* Labels first: they are small, and a count mismatch is then known
     * before the large image read. */
    if ((s = idx_open(&fl, labels_path)) != ENT_OK) goto done;
    if ((s = read_header(&fl, IDX_MAGIC_LABELS, 1, ldims)) != ENT_OK) goto done;
    if (ldims[0] == 0 || ldims[0] > IDX_MAX_ELEMS) {
        s = ent_fail(ENT_EFORMAT, "%s: label count %u out of range (1..%lld)",
                     labels_path, ldims[0], IDX_MAX_ELEMS);
        goto done;
    }
    if ((s = idx_open(&fi, images_path)) != ENT_OK) goto done;
    if ((s = read_header(&fi, IDX_MAGIC_IMAGES, 3, idims)) != ENT_OK) goto done;
    if (idims[0] == 0 || idims[1] == 0 || idims[2] == 0 ||
        idims[1] > IDX_MAX_SIDE || idims[2] > IDX_MAX_SIDE ||
        (int64_t)idims[0] * idims[1] * idims[2] > IDX_MAX_ELEMS) {
        s = ent_fail(ENT_EFORMAT,
                     "%s: dimensions %u x %u x %u out of range (each > 0, rows "
                     "and cols <= %u, at most %lld pixels in all)",
                     images_path, idims[0], idims[1], idims[2], IDX_MAX_SIDE,
                     IDX_MAX_ELEMS);
        goto done;
    }
    if (idims[0] != ldims[0]) {
        s = ent_fail(ENT_ESHAPE, "%s: %u images but %s has %u labels",
                     images_path, idims[0], labels_path, ldims[0]);
        goto done;
    }

    int64_t n = idims[0], h = idims[1], w = idims[2], pix = n * h * w;
    if ((s = check_promise(&fl, 8, n, "label")) != ENT_OK) goto done;
    if ((s = check_promise(&fi, 16, pix, "pixel")) != ENT_OK) goto done;
    d = calloc(1, sizeof *d);
    if (!d) goto nomem;
    d->n = n, d->c = 1, d->h = h, d->w = w;
    d->n_classes = IDX_CLASSES;
    snprintf(d->name, sizeof d->name, "idx");
    d->x = ent_alloc((size_t)pix * sizeof(float));
    d->y = ent_alloc((size_t)n * sizeof(int32_t));
    size_t chunk_len = 1 << 16;
    chunk = malloc(chunk_len);
    if (!d->x || !d->y || !chunk) goto nomem;

    /* Labels. */
    for (int64_t i = 0; i < n;) {
        size_t want = (size_t)(n - i) < chunk_len ? (size_t)(n - i) : chunk_len;
        int64_t got = idx_read(&fl, chunk, want);
        if (got < 0) {
            s = ENT_EFORMAT;
            goto done;
        }
        for (int64_t k = 0; k < got; k++) {
            if (chunk[k] >= IDX_CLASSES) {
                s = ent_fail(ENT_EFORMAT,
                             "%s: label at index %lld is %u, expected 0..%d",
                             labels_path, (long long)(i + k), chunk[k],
                             IDX_CLASSES - 1);
                goto done;
            }
            d->y[i + k] = chunk[k];
        }
        i += got;
        if ((size_t)got < want) {
            s = ent_fail(ENT_EFORMAT,
                         "%s: truncated: header promises %lld label bytes, "
                         "file has only %lld",
                         labels_path, (long long)n, (long long)i);
            goto done;
        }
    }

    /* Pixels through a 256-entry table: (v/255 - mean) / std. */
    float lut[256];
    for (int v = 0; v < 256; v++)
        lut[v] = (float)(((double)v / 255.0 - (double)mean) / (double)std);
    for (int64_t i = 0; i < pix;) {
        size_t want = (size_t)(pix - i) < chunk_len ? (size_t)(pix - i) : chunk_len;
        int64_t got = idx_read(&fi, chunk, want);
        if (got < 0) {
            s = ENT_EFORMAT;
            goto done;
        }
        for (int64_t k = 0; k < got; k++) d->x[i + k] = lut[chunk[k]];
        i += got;
        if ((size_t)got < want) {
            s = ent_fail(ENT_EFORMAT,
                         "%s: truncated: header promises %lld pixel bytes "
                         "(%lld x %lld x %lld), file has only %lld",
                         images_path, (long long)pix, (long long)n,
                         (long long)h, (long long)w, (long long)i);
            goto done;
        }
    }
    s = ENT_OK;
    goto done;
nomem:
    s = ent_fail(ENT_ENOMEM, "%s: out of memory", images_path);
done:
    free(chunk);
    idx_close(&fi);
    idx_close(&fl);
    if (s != ENT_OK) {
        ent_dataset_free(d);
        return s;
    }
    *out = d;
    return ENT_OK;
}

void ent_dataset_free(ent_dataset *d) {
    if (!d) return;
    ent_free_aligned(d->x);
    ent_free_aligned(d->y);
    free(d);
}

/* Keeps the first n samples; the memory is not shrunk. */
void ent_dataset_truncate(ent_dataset *d, int64_t n) {
    if (!d) return;
    if (n < 0) n = 0;
    if (n < d->n) d->n = n;
}

/* ---------------------------------------------------------- named sets */

typedef struct {
    const char *name;
    const char *default_dir; /* NULL: --data-dir required */
    float mean, std;
} named_set;

static const named_set named_sets[] = {
    {"fashion-mnist", "/usr/share/datasets/fashion-mnist", 0.2860f, 0.3530f},
    {"mnist", NULL, 0.1307f, 0.3081f},
};

#define KNOWN_NAMES "fashion-mnist, mnist, cifar10, arrays"
#define MNIST_FILES                                                      \
    "train-images-idx3-ubyte, train-labels-idx1-ubyte, "                 \
    "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (raw or .gz)"

/* buf = dir + "/" + base + suffix; 0 if it does not fit. */
static int join_path(char *buf, size_t cap, const char *dir, const char *base,
                     const char *suffix) {
    size_t a = strlen(dir), b = strlen(base), c = strlen(suffix);
    if (a + 1 + b + c + 1 > cap) return 0;
    memcpy(buf, dir, a);
    buf[a] = '/';
    memcpy(buf + a + 1, base, b);
    memcpy(buf + a + 1 + b, suffix, c + 1);
    return 1;
}

/* Finds dir/base.gz or dir/base (in that order of preference). */
static ent_status find_file(char *buf, size_t cap, const named_set *ns,
                            const char *dir, const char *base) {
    struct stat st;
    if (!join_path(buf, cap, dir, base, ".gz"))
        return ent_fail(ENT_EINVAL, "%s: data directory path too long", dir);
    if (stat(buf, &st) == 0) return ENT_OK;
    join_path(buf, cap, dir, base, "");
    if (stat(buf, &st) == 0) return ENT_OK;
    if (strcmp(ns->name, "fashion-mnist") == 0)
        return ent_fail(ENT_ENOENT,
                        "%s/%s(.gz): not found: install it with `apt-get "
                        "install dataset-fashion-mnist`%s%s",
                        dir, base,
                        ns->default_dir && strcmp(dir, ns->default_dir) == 0
                            ? ""
                            : " (or put the four Fashion-MNIST IDX files in ",
                        ns->default_dir && strcmp(dir, ns->default_dir) == 0
                            ? ""
                            : "this directory)");
    return ent_fail(ENT_ENOENT,
                    "%s/%s(.gz): not found: %s is not packaged; put its four "
                    "files " MNIST_FILES " in --data-dir",
                    dir, base, ns->name);
}

ent_status ent_dataset_load(ent_dataset **out, const char *name,
                            const char *dir, ent_split split) {
    if (!out) return ent_fail(ENT_EINVAL, "ent_dataset_load: NULL output");
    *out = NULL;
    if (name && strcmp(name, "cifar10") == 0) return ent_cifar10_load_dir(out, dir, split);
    if (name && strcmp(name, "arrays") == 0)
        return ent_fail(ENT_EUSAGE, "arrays: give its .npy files (--train-x, --train-y, --test-x, --test-y)");
    const named_set *ns = NULL;
    for (size_t i = 0; name && i < sizeof named_sets / sizeof named_sets[0]; i++)
        if (strcmp(name, named_sets[i].name) == 0) ns = &named_sets[i];
    if (!ns)
        return ent_fail(ENT_EUSAGE, "unknown data set '%s' (known: " KNOWN_NAMES ")",
                        name ? name : "(null)");
    if (!dir || !*dir) dir = ns->default_dir;
    if (!dir)
        return ent_fail(ENT_EUSAGE,
                        "%s: no default location; give --data-dir, a directory "
                        "holding " MNIST_FILES,
                        ns->name);
    if (split != ENT_SPLIT_TRAIN && split != ENT_SPLIT_TEST)
        return ent_fail(ENT_EINVAL, "ent_dataset_load: bad split %d", (int)split);
    const char *pre = split == ENT_SPLIT_TRAIN ? "train" : "t10k";
    char ib[64], lb[64], ip[4096], lp[4096];
    snprintf(ib, sizeof ib, "%s-images-idx3-ubyte", pre);
    snprintf(lb, sizeof lb, "%s-labels-idx1-ubyte", pre);
    ent_status s;
    if ((s = find_file(ip, sizeof ip, ns, dir, ib)) != ENT_OK) return s;
    if ((s = find_file(lp, sizeof lp, ns, dir, lb)) != ENT_OK) return s;
    ent_dataset *d = NULL;
    if ((s = ent_idx_load(&d, ip, lp, ns->mean, ns->std)) != ENT_OK) return s;
    snprintf(d->name, sizeof d->name, "%s", ns->name);
    *out = d;
    return ENT_OK;
}
