/* safetensors.c — the standard safetensors format, written and read.
 *
 * Layout: u64 little-endian N; N bytes of JSON header
 *   {"__metadata__": {"k": "v", ...},
 *    "name": {"dtype": "F32"|"I64", "shape": [...], "data_offsets": [b, e]}, ...}
 * padded with spaces so that N is a multiple of 8; then the data buffer.
 * Offsets are relative to the data buffer. The writer lays tensors out
 * contiguously in the order given (what Python's safetensors demands). The
 * reader holds files to the reference implementation's rules: the tensors,
 * in any order in the header, tile the data buffer exactly (no gap, no
 * overlap, no trailing bytes), and no name appears twice (Python's json
 * keeps the last of two, a first-match lookup the first: the same file
 * would mean different weights to different tools). Only F32 and I64 are
 * accepted. Values are stored little-endian whatever the host.
 *
 * Files come from anyone, so the reader spends nothing on what it has not
 * checked: only a regular file is read (a FIFO would block, /dev/zero never
 * ends), its 8-byte header length is checked against the file's size before
 * the rest is read, and the one buffer is the file's size. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "entropic.h"

#define ST_MAX_HEADER (100u * 1000u * 1000u)
#define ST_MAX_DIM ((int64_t)1 << 53) /* exact in a JSON double */

enum { DT_F32 = 0, DT_I64 = 1 };

typedef struct {
    const char *name; /* borrowed from the parsed header */
    int ndim;
    int64_t shape[4];
    int dtype;
    size_t begin, end;
} st_entry;

struct ent_st_file {
    char *path;
    char *raw; /* whole file */
    size_t raw_len;
    const unsigned char *data; /* raw + 8 + N */
    size_t data_len;
    ent_jv header;
    const ent_jv *meta; /* "__metadata__" object or NULL */
    st_entry *t;
    int n;
};

/* --------------------------------------------------------------- writer */

typedef struct {
    char *b;
    size_t len, cap;
    int failed;
} sbuf;

static void sb_put(sbuf *s, const char *p, size_t n) {
    if (s->failed) return;
    if (s->len + n + 1 > s->cap) {
        size_t nc = s->cap ? s->cap : 1024;
        while (nc < s->len + n + 1) nc *= 2;
        char *nb = realloc(s->b, nc);
        if (!nb) {
            s->failed = 1;
            return;
        }
        s->b = nb;
        s->cap = nc;
    }
    memcpy(s->b + s->len, p, n);
    s->len += n;
    s->b[s->len] = 0;
}

static void sb_str(sbuf *s, const char *p) { sb_put(s, p, strlen(p)); }

static void sb_quoted(sbuf *s, const char *p) {
    static const char hex[] = "0123456789abcdef";
    sb_put(s, "\"", 1);
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sb_put(s, e, 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sb_put(s, e, 6);
        } else {
            sb_put(s, (const char *)&c, 1);
        }
    }
    sb_put(s, "\"", 1);
}

static void put_le64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static int64_t tensor_numel(const ent_st_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] < 0 || t->shape[d] > ST_MAX_DIM) return -1;
        if (t->shape[d] && n > INT64_MAX / 8 / t->shape[d]) return -1;
        n *= t->shape[d];
    }
    return n;
}

ent_status ent_safetensors_write(const char *path, const ent_st_tensor *t,
                                 int n_tensors, const char *const *meta_keys,
                                 const char *const *meta_values, int n_meta) {
    if (!path || n_tensors < 0 || n_meta < 0 || (n_tensors && !t) ||
        (n_meta && (!meta_keys || !meta_values)))
        return ent_fail(ENT_EINVAL, "%s: safetensors write: bad arguments",
                        path ? path : "?");
    /* Validate and size the data buffer. */
    size_t data_len = 0;
    for (int i = 0; i < n_tensors; i++) {
        const ent_st_tensor *ti = &t[i];
        if (!ti->name || !ti->name[0] || strcmp(ti->name, "__metadata__") == 0)
            return ent_fail(ENT_EINVAL, "%s: tensor %d has no usable name",
                            path, i);
        for (int k = 0; k < i; k++)
            if (strcmp(t[k].name, ti->name) == 0)
                return ent_fail(ENT_EINVAL, "%s: duplicate tensor name '%s'",
                                path, ti->name);
        if (ti->ndim < 0 || ti->ndim > 4)
            return ent_fail(ENT_EINVAL, "%s: tensor '%s': ndim %d not in 0..4",
                            path, ti->name, ti->ndim);
        int64_t n = tensor_numel(ti);
        if (n < 0)
            return ent_fail(ENT_EINVAL, "%s: tensor '%s': bad shape", path,
                            ti->name);
        if (n > 0 && !ti->data)
            return ent_fail(ENT_EINVAL, "%s: tensor '%s': no data", path,
                            ti->name);
        size_t bytes = (size_t)n * (ti->is_int64 ? 8 : 4);
        if (data_len > SIZE_MAX - bytes)
            return ent_fail(ENT_EINVAL, "%s: tensors too large", path);
        data_len += bytes;
    }
    for (int i = 0; i < n_meta; i++)
        if (!meta_keys[i] || !meta_values[i])
            return ent_fail(ENT_EINVAL, "%s: metadata entry %d is NULL", path, i);

    /* Header JSON. */
    sbuf h = {0};
    sb_str(&h, "{");
    int first = 1;
    if (n_meta > 0) {
        sb_str(&h, "\"__metadata__\":{");
        for (int i = 0; i < n_meta; i++) {
            if (i) sb_str(&h, ",");
            sb_quoted(&h, meta_keys[i]);
            sb_str(&h, ":");
            sb_quoted(&h, meta_values[i]);
        }
        sb_str(&h, "}");
        first = 0;
    }
    size_t off = 0;
    char num[64];
    for (int i = 0; i < n_tensors; i++) {
        const ent_st_tensor *ti = &t[i];
        size_t bytes = (size_t)tensor_numel(ti) * (ti->is_int64 ? 8 : 4);
        if (!first) sb_str(&h, ",");
        first = 0;
        sb_quoted(&h, ti->name);
        sb_str(&h, ti->is_int64 ? ":{\"dtype\":\"I64\",\"shape\":["
                                : ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < ti->ndim; d++) {
            snprintf(num, sizeof num, "%s%lld", d ? "," : "",
                     (long long)ti->shape[d]);
            sb_str(&h, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%zu,%zu]}", off,
                 off + bytes);
        sb_str(&h, num);
        off += bytes;
    }
    sb_str(&h, "}");
    while (!h.failed && h.len % 8) sb_str(&h, " ");
    if (h.failed) {
        free(h.b);
        return ent_fail(ENT_ENOMEM, "%s: out of memory", path);
    }

    /* One buffer: length, header, data. */
    size_t total = 8 + h.len + data_len;
    unsigned char *buf = malloc(total ? total : 1);
    if (!buf) {
        free(h.b);
        return ent_fail(ENT_ENOMEM, "%s: out of memory (%zu bytes)", path, total);
    }
    put_le64(buf, (uint64_t)h.len);
    memcpy(buf + 8, h.b, h.len);
    free(h.b);
    unsigned char *p = buf + 8 + (total - 8 - data_len);
    for (int i = 0; i < n_tensors; i++) {
        const ent_st_tensor *ti = &t[i];
        int64_t n = tensor_numel(ti);
        for (int64_t k = 0; k < n; k++) {
            if (ti->is_int64) {
                double v = (double)ti->data[k];
                if (!(fabs(v) < 9.2e18)) {
                    free(buf);
                    return ent_fail(ENT_EINVAL,
                                    "%s: tensor '%s': element %lld (%g) is not "
                                    "representable as I64",
                                    path, ti->name, (long long)k, v);
                }
                put_le64(p, (uint64_t)(int64_t)llround(v));
                p += 8;
            } else {
                uint32_t u;
                memcpy(&u, &ti->data[k], 4);
                for (int b = 0; b < 4; b++) *p++ = (unsigned char)(u >> (8 * b));
            }
        }
    }
    ent_status s = ent_write_file_atomic(path, buf, total);
    free(buf);
    return s;
}

/* --------------------------------------------------------------- reader */

void ent_st_file_free(ent_st_file *f) {
    if (!f) return;
    ent_jv_free(&f->header);
    free(f->t);
    free(f->raw);
    free(f->path);
    free(f);
}

/* A JSON number that is a non-negative integer <= max, into *out. */
static int as_uint(const ent_jv *v, double max, uint64_t *out) {
    if (!v || v->type != ENT_JSON_NUMBER) return 0;
    double d = v->num;
    if (!(d >= 0 && d <= max) || d != floor(d)) return 0;
    *out = (uint64_t)d;
    return 1;
}

static ent_status bad(ent_st_file *f, const char *fmt, const char *name,
                      const char *what) {
    ent_status s = ent_fail(ENT_EFORMAT, fmt, f->path, name, what);
    ent_st_file_free(f);
    return s;
}

static ent_status parse_entry(ent_st_file *f, const char *name,
                              const ent_jv *v, st_entry *e) {
    e->name = name;
    if (v->type != ENT_JSON_OBJECT)
        return ent_fail(ENT_EFORMAT, "%s: tensor '%s': entry is not an object",
                        f->path, name);
    const ent_jv *dt = ent_jv_get(v, "dtype");
    const ent_jv *sh = ent_jv_get(v, "shape");
    const ent_jv *of = ent_jv_get(v, "data_offsets");
    if (!dt || dt->type != ENT_JSON_STRING)
        return ent_fail(ENT_EFORMAT, "%s: tensor '%s': missing dtype", f->path,
                        name);
    if (strcmp(dt->str, "F32") == 0)
        e->dtype = DT_F32;
    else if (strcmp(dt->str, "I64") == 0)
        e->dtype = DT_I64;
    else
        return ent_fail(ENT_EFORMAT,
                        "%s: tensor '%s': unsupported dtype '%.40s' (accepted: "
                        "F32, I64)",
                        f->path, name, dt->str);
    if (!sh || sh->type != ENT_JSON_ARRAY)
        return ent_fail(ENT_EFORMAT, "%s: tensor '%s': missing shape", f->path,
                        name);
    if (sh->n > 4)
        return ent_fail(ENT_EFORMAT,
                        "%s: tensor '%s': %lld dimensions (at most 4 supported)",
                        f->path, name, (long long)sh->n);
    e->ndim = (int)sh->n;
    uint64_t numel = 1;
    for (int d = 0; d < 4; d++) e->shape[d] = 1;
    for (int d = 0; d < e->ndim; d++) {
        uint64_t x;
        if (!as_uint(&sh->items[d], (double)ST_MAX_DIM, &x))
            return ent_fail(ENT_EFORMAT,
                            "%s: tensor '%s': shape[%d] is not a non-negative "
                            "integer",
                            f->path, name, d);
        e->shape[d] = (int64_t)x;
        if (x && numel > (UINT64_MAX / 8) / x)
            return ent_fail(ENT_EFORMAT, "%s: tensor '%s': shape too large",
                            f->path, name);
        numel *= x;
    }
    uint64_t b, en;
    if (!of || of->type != ENT_JSON_ARRAY || of->n != 2 ||
        !as_uint(&of->items[0], 1.8e19, &b) ||
        !as_uint(&of->items[1], 1.8e19, &en))
        return ent_fail(ENT_EFORMAT,
                        "%s: tensor '%s': data_offsets must be [begin, end] "
                        "non-negative integers",
                        f->path, name);
    if (b > en || en > f->data_len)
        return ent_fail(ENT_EFORMAT,
                        "%s: tensor '%s': data_offsets [%llu, %llu] outside "
                        "the data buffer of %zu bytes",
                        f->path, name, (unsigned long long)b,
                        (unsigned long long)en, f->data_len);
    uint64_t want = numel * (e->dtype == DT_I64 ? 8 : 4);
    if (en - b != want) {
        return ent_fail(ENT_EFORMAT,
                        "%s: tensor '%s': shape needs %llu bytes but "
                        "data_offsets span %llu",
                        f->path, name, (unsigned long long)want,
                        (unsigned long long)(en - b));
    }
    e->begin = (size_t)b;
    e->end = (size_t)en;
    return ENT_OK;
}

/* All of n bytes at offset off, or an errno (EIO for a file that shrank). */
static int read_all(int fd, char *buf, size_t n, off_t off) {
    while (n > 0) {
        ssize_t r = pread(fd, buf, n, off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return errno;
        if (r == 0) return EIO;
        buf += r, n -= (size_t)r, off += r;
    }
    return 0;
}

/* f->raw <- the whole file, once its header length fits the file. */
static ent_status read_checked(ent_st_file *f) {
    const char *path = f->path;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* a FIFO must not block the open */
    if (fd < 0) {
        int e = errno;
        return ent_fail(e == ENOENT ? ENT_ENOENT : ENT_EIO, "%s: %s", path, strerror(e));
    }
    struct stat st;
    ent_status s = ENT_OK;
    unsigned char len8[8];
    int e = 0;
    if (fstat(fd, &st) != 0) {
        s = ent_fail(ENT_EIO, "%s: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        s = ent_fail(ENT_EFORMAT, "%s: not a regular file (a safetensors file is read only from one)", path);
    } else if (st.st_size < 8) {
        s = ent_fail(ENT_EFORMAT, "%s: file is %lld bytes, too short for a safetensors header (8 bytes at least)",
                     path, (long long)st.st_size);
    } else if ((e = read_all(fd, (char *)len8, 8, 0)) != 0) {
        s = ent_fail(ENT_EIO, "%s: read failed: %s", path, strerror(e));
    } else if (get_le64(len8) > ST_MAX_HEADER || get_le64(len8) > (uint64_t)st.st_size - 8) {
        s = ent_fail(ENT_EFORMAT, "%s: header length %llu exceeds the file (%lld bytes) or the 100 MB limit", path,
                     (unsigned long long)get_le64(len8), (long long)st.st_size);
    } else if ((uint64_t)st.st_size >= SIZE_MAX || !(f->raw = malloc((size_t)st.st_size + 1))) {
        s = ent_fail(ENT_ENOMEM, "%s: out of memory (%lld bytes)", path, (long long)st.st_size);
    } else if ((e = read_all(fd, f->raw, (size_t)st.st_size, 0)) != 0) {
        s = ent_fail(ENT_EIO, "%s: read failed: %s", path, e == EIO ? "the file shrank while read" : strerror(e));
    } else {
        f->raw_len = (size_t)st.st_size;
    }
    close(fd);
    return s;
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const st_entry *)a)->name, ((const st_entry *)b)->name);
}

static int by_offsets(const void *a, const void *b) {
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Names unique; the tensors, sorted by offset, tile the data buffer
 * exactly (sorting keeps this O(n log n) for headers of many tensors). */
static ent_status check_layout(const ent_st_file *f) {
    if (f->n == 0) {
        if (f->data_len)
            return ent_fail(ENT_EFORMAT, "%s: %zu bytes of data but no tensor", f->path, f->data_len);
        return ENT_OK;
    }
    st_entry *e = malloc((size_t)f->n * sizeof *e);
    if (!e) return ent_fail(ENT_ENOMEM, "%s: out of memory", f->path);
    memcpy(e, f->t, (size_t)f->n * sizeof *e);
    ent_status s = ENT_OK;
    qsort(e, (size_t)f->n, sizeof *e, by_name);
    for (int i = 1; s == ENT_OK && i < f->n; i++)
        if (strcmp(e[i].name, e[i - 1].name) == 0)
            s = ent_fail(ENT_EFORMAT, "%s: tensor '%s' appears twice in the header", f->path, e[i].name);
    qsort(e, (size_t)f->n, sizeof *e, by_offsets);
    size_t at = 0;
    for (int i = 0; s == ENT_OK && i < f->n; i++) {
        if (e[i].begin != at)
            s = ent_fail(ENT_EFORMAT, "%s: tensor '%s' starts at byte %zu of the data buffer where the tensors "
                         "before it end at %zu (%s; safetensors lays tensors out contiguously)", f->path,
                         e[i].name, e[i].begin, at, e[i].begin > at ? "a gap" : "an overlap");
        at = e[i].end;
    }
    if (s == ENT_OK && at != f->data_len)
        s = ent_fail(ENT_EFORMAT, "%s: the tensors end at byte %zu of a data buffer of %zu bytes (%zu bytes "
                     "belong to no tensor)", f->path, at, f->data_len, f->data_len - at);
    free(e);
    return s;
}

ent_status ent_safetensors_read(ent_st_file **out, const char *path) {
    if (!out || !path)
        return ent_fail(ENT_EINVAL, "ent_safetensors_read: NULL argument");
    *out = NULL;
    ent_st_file *f = calloc(1, sizeof *f);
    if (!f) return ent_fail(ENT_ENOMEM, "%s: out of memory", path);
    size_t plen = strlen(path);
    f->path = malloc(plen + 1);
    if (f->path) memcpy(f->path, path, plen + 1);
    if (!f->path) {
        free(f);
        return ent_fail(ENT_ENOMEM, "%s: out of memory", path);
    }
    ent_status s = read_checked(f);
    if (s != ENT_OK) {
        ent_st_file_free(f);
        return s;
    }
    uint64_t n = get_le64((const unsigned char *)f->raw);
    f->data = (const unsigned char *)f->raw + 8 + n;
    f->data_len = f->raw_len - 8 - (size_t)n;
    s = ent_jv_parse(&f->header, f->raw + 8, (size_t)n);
    if (s != ENT_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", ent_last_error());
        s = ent_fail(s, "%s: header: %s", path, msg);
        ent_st_file_free(f);
        return s;
    }
    if (f->header.type != ENT_JSON_OBJECT)
        return bad(f, "%s: header is not a JSON object%s%s", "", "");
    f->t = calloc((size_t)f->header.n + 1, sizeof *f->t);
    if (!f->t) {
        s = ent_fail(ENT_ENOMEM, "%s: out of memory", path);
        ent_st_file_free(f);
        return s;
    }
    for (int64_t i = 0; i < f->header.n; i++) {
        const char *key = f->header.keys[i];
        const ent_jv *v = &f->header.items[i];
        if (strcmp(key, "__metadata__") == 0) {
            if (f->meta)
                return bad(f, "%s: %s%s", "duplicate ", "__metadata__");
            if (v->type != ENT_JSON_OBJECT)
                return bad(f, "%s: %s%s", "__metadata__", " is not an object");
            for (int64_t k = 0; k < v->n; k++)
                if (v->items[k].type != ENT_JSON_STRING)
                    return bad(f, "%s: __metadata__ value of '%s'%s",
                               v->keys[k], " is not a string");
            f->meta = v;
            continue;
        }
        if (f->n >= 1 << 30) return bad(f, "%s: %s%s", "too many tensors", "");
        s = parse_entry(f, key, v, &f->t[f->n]);
        if (s != ENT_OK) {
            ent_st_file_free(f);
            return s;
        }
        f->n++;
    }
    s = check_layout(f);
    if (s != ENT_OK) {
        ent_st_file_free(f);
        return s;
    }
    *out = f;
    return ENT_OK;
}

int ent_st_count(const ent_st_file *f) { return f ? f->n : 0; }

const char *ent_st_name(const ent_st_file *f, int i) { return f && i >= 0 && i < f->n ? f->t[i].name : NULL; }

static const st_entry *find(const ent_st_file *f, const char *name) {
    if (!f || !name) return NULL;
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0) return &f->t[i];
    return NULL;
}

/* Fills shape[0..ndim) and sets the unused trailing entries to 1. */
int ent_st_find(const ent_st_file *f, const char *name, int *ndim,
                int64_t shape[4]) {
    const st_entry *e = find(f, name);
    if (!e) return 0;
    if (ndim) *ndim = e->ndim;
    if (shape)
        for (int d = 0; d < 4; d++) shape[d] = e->shape[d];
    return 1;
}

ent_status ent_st_get(const ent_st_file *f, const char *name, float *dst,
                      int64_t n) {
    if (!f || !name || n < 0 || (n > 0 && !dst))
        return ent_fail(ENT_EINVAL, "ent_st_get: bad arguments");
    const st_entry *e = find(f, name);
    if (!e)
        return ent_fail(ENT_EFORMAT, "%s: no tensor named '%s'", f->path, name);
    int64_t size = e->dtype == DT_I64 ? 8 : 4;
    int64_t numel = (int64_t)((e->end - e->begin) / (size_t)size);
    if (numel != n)
        return ent_fail(ENT_ESHAPE,
                        "%s: tensor '%s': expected %lld elements, got %lld",
                        f->path, name, (long long)n, (long long)numel);
    const unsigned char *p = f->data + e->begin;
    for (int64_t i = 0; i < n; i++, p += size) {
        if (e->dtype == DT_F32) {
            uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
                         (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            memcpy(&dst[i], &u, 4);
        } else {
            /* Only what the writer can write back: a value past its range
             * would let a run train, then fail at its first checkpoint
             * naming the new file instead of this one. */
            int64_t v = (int64_t)get_le64(p);
            if (!(fabs((double)(float)v) < 9.2e18))
                return ent_fail(ENT_EFORMAT, "%s: tensor '%s': element %lld (%lld) is outside the I64 range "
                                "entropic reads and writes (|v| < 9.2e18)", f->path, name, (long long)i,
                                (long long)v);
            dst[i] = (float)v;
        }
    }
    return ENT_OK;
}

const char *ent_st_meta(const ent_st_file *f, const char *key) {
    if (!f || !f->meta) return NULL;
    const ent_jv *v = ent_jv_get(f->meta, key);
    return v && v->type == ENT_JSON_STRING ? v->str : NULL;
}
