/* npy_header.c — the header of a NumPy .npy file (format versions 1.0,
 * 2.0 and 3.0): the magic "\x93NUMPY", the version, the header length
 * (2 bytes little-endian in 1.0, 4 in 2.0 and 3.0), then a Python dict
 * literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (100, 3, 32, 32), }
 * padded with spaces to a newline. The dict is parsed by a small grammar of
 * its own (strings, True/False, tuples of integers), never evaluated; the
 * three keys must all be there and no other (as numpy.load requires).
 * The header's length, the shape's product and the data's size are all
 * checked against the file's size before the caller allocates anything. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/npy.h"

#define NPY_MAX_HEADER (1 << 20) /* numpy writes a few hundred bytes */

typedef struct {
    const char *p, *end, *path;
} cursor;

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static ent_status syntax(const cursor *c, const char *start, const char *what) {
    return ent_fail(ENT_EFORMAT, "%s: bad .npy header at byte %lld of the dict: %s", c->path,
                    (long long)(c->p - start), what);
}

/* 1 and advances past ch (after blanks) if it is next; 0 otherwise. */
static int eat(cursor *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted string ('...' or "...") of printable ASCII without escapes,
 * into buf (so that it can be quoted in a one-line message). */
static int parse_string(cursor *c, char *buf, size_t cap) {
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return 0;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || *c->p < 0x20 || *c->p > 0x7e || n + 1 >= cap) return 0;
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end) return 0;
    c->p++;
    buf[n] = 0;
    return 1;
}

/* 1 if ch is next (after blanks), without consuming it. */
static int peek(cursor *c, char ch) {
    skip_ws(c);
    return c->p < c->end && *c->p == ch;
}

static int parse_word(cursor *c, const char *w) {
    size_t n = strlen(w);
    skip_ws(c);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return 0;
    c->p += n;
    return 1;
}

static int parse_bool(cursor *c, int *v) {
    if (parse_word(c, "True")) return *v = 1, 1;
    if (parse_word(c, "False")) return *v = 0, 1;
    return 0;
}

/* A non-negative integer (Python 2's numpy wrote "3L"), at most 2^62. */
static int parse_dim(cursor *c, int64_t *v) {
    skip_ws(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') return 0;
    int64_t x = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (x > ((int64_t)1 << 62) / 10) return 0;
        x = x * 10 + (*c->p++ - '0');
    }
    if (c->p < c->end && *c->p == 'L') c->p++;
    *v = x;
    return 1;
}

/* "(d0, d1, ...)" with an optional trailing comma; "()" is a scalar. */
static int parse_shape(cursor *c, npy_info *a) {
    if (!eat(c, '(')) return 0;
    a->ndim = 0;
    if (eat(c, ')')) return 1;
    for (;;) {
        if (a->ndim == NPY_MAX_DIMS) return 0;
        if (!parse_dim(c, &a->shape[a->ndim])) return 0;
        a->ndim++;
        if (eat(c, ')')) return 1;
        if (!eat(c, ',')) return 0;
        if (eat(c, ')')) return 1;
    }
}

/* The dict: each of descr, fortran_order, shape exactly once. */
static ent_status parse_dict(cursor *c, npy_info *a) {
    const char *start = c->p;
    int seen[3] = {0, 0, 0};
    char key[32];
    if (!eat(c, '{')) return syntax(c, start, "want '{'");
    while (!eat(c, '}')) {
        if (!parse_string(c, key, sizeof key)) return syntax(c, start, "want a quoted key");
        if (!eat(c, ':')) return syntax(c, start, "want ':' after the key");
        int k = strcmp(key, "descr") == 0 ? 0 : strcmp(key, "fortran_order") == 0 ? 1
              : strcmp(key, "shape") == 0 ? 2 : -1;
        if (k < 0) return ent_fail(ENT_EFORMAT, "%s: .npy header has an unknown key '%s'", c->path, key);
        if (seen[k]++) return ent_fail(ENT_EFORMAT, "%s: .npy header repeats the key '%s'", c->path, key);
        int ok = k == 0   ? parse_string(c, a->descr, sizeof a->descr)
                 : k == 1 ? parse_bool(c, &a->fortran)
                          : parse_shape(c, a);
        if (!ok)
            return syntax(c, start, k == 0 ? "descr must be a dtype string such as '<f4' (structured dtypes "
                                             "are not supported)"
                                    : k == 1 ? "fortran_order must be True or False"
                                             : "shape must be a tuple of non-negative integers (at most 8)");
        if (!eat(c, ',') && !peek(c, '}'))
            return syntax(c, start, "want ',' or '}'");
    }
    for (int k = 0; k < 3; k++)
        if (!seen[k])
            return ent_fail(ENT_EFORMAT, "%s: .npy header lacks the key '%s'", c->path,
                            k == 0 ? "descr" : k == 1 ? "fortran_order" : "shape");
    return ENT_OK;
}

/* descr -> kind and item size: '<' or '=' (little-endian on the machines
 * entropic runs on), '|' (one byte), then f4 f8 u1 u2 u4 u8 i1 i2 i4 i8 b1. */
static ent_status parse_descr(npy_info *a, const char *path) {
    const char *d = a->descr;
    if (strlen(d) == 3 && strchr("<=|>", d[0]) && strchr("fuib", d[1]) && strchr("1248", d[2])) {
        a->kind = d[1];
        a->itemsize = d[2] - '0';
        if (d[0] == '>' && a->itemsize > 1)
            return ent_fail(ENT_EFORMAT, "%s: big-endian data ('%s') is not supported: save x.astype('<%c%d')",
                            path, d, a->kind, a->itemsize);
        int ok = a->kind == 'f' ? a->itemsize >= 4 : a->kind == 'b' ? a->itemsize == 1 : 1;
        if (ok) return ENT_OK;
    }
    return ent_fail(ENT_EFORMAT, "%s: unsupported dtype '%s'", path, d);
}

/* count = product of the shape; its bytes must be exactly what follows. */
static ent_status check_size(npy_info *a, int64_t data_bytes) {
    int64_t count = 1;
    for (int i = 0; i < a->ndim; i++) {
        if (a->shape[i] != 0 && count > INT64_MAX / 8 / a->shape[i])
            return ent_fail(ENT_EFORMAT, "%s: shape too large for the file (%lld bytes of data)", a->path,
                            (long long)data_bytes);
        count *= a->shape[i];
    }
    a->count = count;
    int64_t want = count * a->itemsize;
    if (want > data_bytes)
        return ent_fail(ENT_EFORMAT, "%s: truncated: the header's shape needs %lld bytes of data, the file has %lld",
                        a->path, (long long)want, (long long)data_bytes);
    if (want < data_bytes)
        return ent_fail(ENT_EFORMAT, "%s: %lld bytes after the %lld bytes of data the header describes", a->path,
                        (long long)(data_bytes - want), (long long)want);
    return ENT_OK;
}

static uint32_t le(const unsigned char *p, int n) {
    uint32_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* Magic, version and header length; leaves f at the dict. */
static ent_status read_preamble(npy_info *a, int64_t size, uint32_t *hlen) {
    unsigned char pre[12];
    size_t got = fread(pre, 1, 8, a->f);
    if (got >= 2 && pre[0] == 'P' && pre[1] == 'K')
        return ent_fail(ENT_EFORMAT, "%s: a zip archive (.npz?), not a .npy file: np.save each array", a->path);
    if (got < 6 || memcmp(pre, "\x93NUMPY", 6) != 0)
        return ent_fail(ENT_EFORMAT, "%s: bad magic: not a .npy file (want \\x93NUMPY)", a->path);
    if (got < 8) return ent_fail(ENT_EFORMAT, "%s: truncated .npy header (%lld bytes)", a->path, (long long)size);
    if (pre[6] < 1 || pre[6] > 3)
        return ent_fail(ENT_EFORMAT, "%s: .npy format version %u.%u not supported (1.0, 2.0, 3.0)", a->path,
                        pre[6], pre[7]);
    int lbytes = pre[6] == 1 ? 2 : 4;
    if (fread(pre + 8, 1, (size_t)lbytes, a->f) != (size_t)lbytes)
        return ent_fail(ENT_EFORMAT, "%s: truncated .npy header (%lld bytes)", a->path, (long long)size);
    *hlen = le(pre + 8, lbytes);
    a->data_offset = 8 + lbytes + (int64_t)*hlen;
    if (*hlen == 0 || *hlen > NPY_MAX_HEADER || a->data_offset > size)
        return ent_fail(ENT_EFORMAT, "%s: .npy header length %u out of range (file of %lld bytes)", a->path, *hlen,
                        (long long)size);
    return ENT_OK;
}

static ent_status read_dict(npy_info *a, uint32_t hlen, int64_t size) {
    char *h = malloc(hlen);
    if (!h) return ent_fail(ENT_ENOMEM, "%s: out of memory", a->path);
    ent_status s = ENT_OK;
    if (fread(h, 1, hlen, a->f) != hlen) s = ent_fail(ENT_EFORMAT, "%s: truncated .npy header", a->path);
    cursor c = {h, h + hlen, a->path};
    if (s == ENT_OK) s = parse_dict(&c, a);
    free(h);
    if (s == ENT_OK) s = parse_descr(a, a->path);
    if (s == ENT_OK) s = check_size(a, size - a->data_offset);
    return s;
}

ent_status npy_open(npy_info *a, const char *path) {
    memset(a, 0, sizeof *a);
    a->path = path;
    a->f = fopen(path, "rb");
    if (!a->f) {
        int e = errno;
        return ent_fail(e == ENOENT ? ENT_ENOENT : ENT_EIO, "%s: %s", path, strerror(e));
    }
    struct stat st;
    ent_status s = ENT_OK;
    uint32_t hlen = 0;
    if (fstat(fileno(a->f), &st) != 0 || !S_ISREG(st.st_mode)) s = ent_fail(ENT_EIO, "%s: not a regular file", path);
    if (s == ENT_OK) s = read_preamble(a, (int64_t)st.st_size, &hlen);
    if (s == ENT_OK) s = read_dict(a, hlen, (int64_t)st.st_size);
    if (s != ENT_OK) npy_close(a);
    return s;
}

void npy_close(npy_info *a) {
    if (a->f) fclose(a->f);
    a->f = NULL;
}

/* "(3, 32, 32)": the shape from dimension `from` on, for messages. */
const char *npy_shape_str(const npy_info *a, int from, char *buf, size_t cap) {
    size_t n = (size_t)snprintf(buf, cap, "(");
    for (int i = from; i < a->ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i > from ? ", " : "", (long long)a->shape[i]);
    if (n < cap) snprintf(buf + n, cap - n, a->ndim - from == 1 ? ",)" : ")");
    return buf;
}
