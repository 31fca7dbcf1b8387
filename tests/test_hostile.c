/* test_hostile.c — files written by someone else: safetensors layouts the
 * reference implementation refuses, headers that promise more than the
 * file holds, files that are no files (FIFO, /dev/zero), checkpoints with
 * NaN weights, impossible statistics or run state out of range, and IDX
 * files promising more samples than they hold. Each is refused with exit 2
 * (or ENT_EFORMAT) naming the file and what is wrong, before any large
 * allocation. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

static char out[65536];

static void put_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK_MSG(f != NULL, "cannot write %s", path);
    if (!f) return;
    CHECK(fwrite(data, 1, len, f) == len);
    fclose(f);
}

/* A safetensors file: header text (its length as given, padded to 8 with
 * spaces) and data_len zero bytes. */
static void put_st(const char *path, const char *hdr, size_t data_len) {
    size_t hl = strlen(hdr), padded = (hl + 7) / 8 * 8, total = 8 + padded + data_len;
    unsigned char *b = calloc(1, total);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(b + 8, hdr, hl);
    memset(b + 8 + hl, ' ', padded - hl);
    put_file(path, b, total);
    free(b);
}

/* ent_safetensors_read fails with want, naming the file and needle. */
static void refused_at(int line, const char *path, ent_status want, const char *needle) {
    ent_st_file *f = NULL;
    ent_status s = ent_safetensors_read(&f, path);
    const char *m = ent_last_error();
    if (s != want || !strstr(m, path) || (needle && !strstr(m, needle)))
        ent_test_fail(__FILE__, line, "%s: got %s (%s), want %s naming the file and '%s'", path, ent_status_name(s),
                      s == ENT_OK ? "" : m, ent_status_name(want), needle ? needle : "");
    CHECK(f == NULL);
    ent_st_file_free(f);
}
#define REFUSED(path, want, needle) refused_at(__LINE__, path, want, needle)

/* What the reference safetensors implementation refuses: a repeated name,
 * a gap, an overlap, bytes after the last tensor. Ordered out of header
 * order but tiling the buffer, a file is good. */
ENT_TEST(hostile_safetensors_layout) {
    char p[600];
    snprintf(p, sizeof p, "%s/t.safetensors", ent_test_tmpdir());
    put_st(p, "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
              "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8);
    ent_st_file *f = NULL;
    CHECK_OK(ent_safetensors_read(&f, p));
    CHECK(ent_st_count(f) == 2);
    ent_st_file_free(f);
    put_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
              "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
    REFUSED(p, ENT_EFORMAT, "'a' appears twice");
    put_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
              "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12);
    REFUSED(p, ENT_EFORMAT, "a gap");
    put_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
              "\"b\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[4,8]}}", 8);
    REFUSED(p, ENT_EFORMAT, "an overlap");
    put_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
    REFUSED(p, ENT_EFORMAT, "'a' starts at byte 4");
    put_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12);
    REFUSED(p, ENT_EFORMAT, "8 bytes belong to no tensor");
    put_st(p, "{\"__metadata__\":{\"k\":\"v\"}}", 4);
    REFUSED(p, ENT_EFORMAT, "no tensor");
    put_st(p, "{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4);
    REFUSED(p, ENT_EFORMAT, "BF16");
    put_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4);
    REFUSED(p, ENT_EFORMAT, "shape[0]");
    put_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[9007199254740992,9007199254740992],\"data_offsets\":[0,4]}}", 4);
    REFUSED(p, ENT_EFORMAT, "shape too large");
    put_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4);
    REFUSED(p, ENT_EFORMAT, "needs 8 bytes");
    /* I64 beyond what the writer writes back (INT64_MIN) */
    put_st(p, "{\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}}", 8);
    char *raw = NULL;
    size_t len = 0;
    CHECK_OK(ent_read_file(p, &raw, &len));
    if (!raw) return;
    raw[len - 1] = (char)0x80; /* little-endian 0x8000000000000000 */
    put_file(p, raw, len);
    free(raw);
    CHECK_OK(ent_safetensors_read(&f, p));
    float v = 0;
    ent_status s = f ? ent_st_get(f, "n", &v, 1) : ENT_EINVAL;
    CHECK_MSG(s == ENT_EFORMAT && strstr(ent_last_error(), "'n'") && strstr(ent_last_error(), "I64 range"),
              "INT64_MIN: %s %s", ent_status_name(s), ent_last_error());
    ent_st_file_free(f);
}

/* The 8-byte header length is checked against the file's size before the
 * rest is read; files that are not regular files are not read at all (a
 * FIFO would block the reader forever, /dev/zero would fill memory). */
ENT_TEST(hostile_safetensors_header_first) {
    const char *d = ent_test_tmpdir();
    char p[600];
    snprintf(p, sizeof p, "%s/big.safetensors", d);
    unsigned char h[8] = {0, 0, 0, 0, 0, 0, 0, 0x80}; /* 2^63 */
    put_file(p, h, 8);
    CHECK(truncate(p, (off_t)2 << 30) == 0); /* 2 GiB, sparse */
    ent_test_alloc_largest(1);
    REFUSED(p, ENT_EFORMAT, "header length 9223372036854775808 exceeds the file");
    size_t big = ent_test_alloc_largest(1);
    CHECK_MSG(big < (1u << 20), "refusing a 2 GiB file with an absurd header allocated %zu bytes at once", big);
    h[7] = 0, h[4] = 0x10; /* 2^36: still beyond the 100 MB limit */
    put_file(p, h, 8);
    CHECK(truncate(p, (off_t)2 << 30) == 0);
    REFUSED(p, ENT_EFORMAT, "100 MB limit");
    CHECK(ent_test_alloc_largest(1) < (1u << 20));
    unlink(p);
    REFUSED("/dev/zero", ENT_EFORMAT, "not a regular file");
    char *text = NULL;
    size_t len = 0;
    ent_status s = ent_read_file("/dev/zero", &text, &len); /* network files, config.json */
    CHECK_MSG(s == ENT_EIO && strstr(ent_last_error(), "not a regular file or a pipe"), "/dev/zero: %s %s",
              ent_status_name(s), ent_last_error());
    free(text);
    snprintf(p, sizeof p, "%s/fifo", d);
    if (mkfifo(p, 0600) == 0) {
        double t0 = ent_time_seconds();
        REFUSED(p, ENT_EFORMAT, "not a regular file");
        CHECK_MSG(ent_time_seconds() - t0 < 5, "a FIFO held the reader %.1f s", ent_time_seconds() - t0);
    } else {
        printf("    skip the FIFO: mkfifo failed\n");
    }
}

/* IDX files are sized before the data set is allocated: two 24-byte files
 * promising 10^8 samples, raw or gzip. */
ENT_TEST(hostile_idx_promises) {
    const char *d = ent_test_tmpdir();
    char ip[600], lp[600];
    snprintf(ip, sizeof ip, "%s/img", d);
    snprintf(lp, sizeof lp, "%s/lab", d);
    const unsigned char img[24] = {0, 0, 8, 3, 0x05, 0xf5, 0xe1, 0x00, 0, 0, 0, 1, 0, 0, 0, 1}; /* 10^8 images of 1x1 */
    unsigned char lab[24] = {0, 0, 8, 1, 0x05, 0xf5, 0xe1, 0x00};                      /* 10^8 labels */
    put_file(lp, lab, sizeof lab);
    put_file(ip, img, sizeof img);
    ent_dataset *ds = NULL;
    ent_test_alloc_largest(1);
    ent_status s = ent_idx_load(&ds, ip, lp, 0.5f, 0.5f);
    CHECK_MSG(s == ENT_EFORMAT && strstr(ent_last_error(), lp) && strstr(ent_last_error(), "header promises 100000000"),
              "%s: %s", ent_status_name(s), ent_last_error());
    CHECK_MSG(ent_test_alloc_largest(1) < (1u << 20), "allocated before the sizes were checked");
    /* a gzip file can hold no more than 1032 times its size */
    snprintf(lp, sizeof lp, "%s/lab.gz", d);
    int rc = ent_test_run(out, sizeof out, "printf '\\000\\000\\010\\001\\005\\365\\341\\000' | gzip -c > %s", lp);
    CHECK(rc == 0);
    s = ent_idx_load(&ds, ip, lp, 0.5f, 0.5f);
    CHECK_MSG(s == ENT_EFORMAT && strstr(ent_last_error(), "deflate"), "%s: %s", ent_status_name(s),
              ent_last_error());
    CHECK(ent_test_alloc_largest(1) < (1u << 20));
    snprintf(lp, sizeof lp, "%s/fifo", d);
    if (mkfifo(lp, 0600) == 0) {
        s = ent_idx_load(&ds, ip, lp, 0.5f, 0.5f);
        CHECK_MSG(s == ENT_EIO && strstr(ent_last_error(), "not a regular file"), "FIFO: %s", ent_last_error());
    }
    CHECK(ds == NULL);
}

/* ---- checkpoints through the CLI ---- */

/* The options of the runs below (make_data sets them): a small network
 * with batch normalisation (4 tensors of statistics), so runs take a
 * fraction of a second. */
static char COMMON[800];

/* IDX files of n images per split that a network can learn from, and the
 * network file. */
static const char *make_data(const char *dir, int n) {
    char net[700];
    snprintf(net, sizeof net, "%s/bn-tiny.json", dir);
    static const char text[] = "{\"name\": \"bn-tiny\", \"nodes\": [{\"name\": \"fc1\", \"kind\": \"dense\", "
                               "\"out_features\": 16}, {\"name\": \"bn1\", \"kind\": \"batchnorm\"}, {\"name\": \"relu1\", "
                               "\"kind\": \"relu\"}, {\"name\": \"fc2\", \"kind\": \"dense\", \"out_features\": 10}]}";
    put_file(net, text, strlen(text));
    snprintf(COMMON, sizeof COMMON, "--model-file %s --dataset mnist --batch-size 50 --threads 1 --quiet", net);
    return ent_test_mnist_like(dir, n);
}

/* The byte offset in the file of element k of tensor `name`, or -1. */
static long tensor_at(const char *path, const char *name, int64_t k, int size) {
    char *raw = NULL;
    size_t len = 0;
    if (ent_read_file(path, &raw, &len) != ENT_OK || len < 8) return -1;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | (unsigned char)raw[i];
    ent_jv h;
    long at = -1;
    if (n <= len - 8 && ent_jv_parse(&h, raw + 8, (size_t)n) == ENT_OK) {
        const ent_jv *t = ent_jv_get(&h, name), *o = t ? ent_jv_get(t, "data_offsets") : NULL;
        if (o && o->n == 2) at = (long)(8 + n + (uint64_t)o->items[0].num) + (long)k * size;
        ent_jv_free(&h);
    }
    free(raw);
    return at;
}

/* Overwrite element k of a tensor with the bytes of v (size 4 or 8). */
static void poke(const char *src, const char *dst, const char *name, int64_t k, const void *v, int size) {
    char *raw = NULL;
    size_t len = 0;
    long at = tensor_at(src, name, k, size);
    CHECK_MSG(at > 0, "%s: no tensor '%s'", src, name);
    if (at <= 0 || ent_read_file(src, &raw, &len) != ENT_OK) return;
    memcpy(raw + at, v, (size_t)size);
    put_file(dst, raw, len);
    free(raw);
}

/* Replace metadata key's value (a string) with val, re-padding the header. */
static void set_meta(const char *src, const char *dst, const char *key, const char *val) {
    char *raw = NULL, pat[160];
    size_t len = 0;
    if (ent_read_file(src, &raw, &len) != ENT_OK) return;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | (unsigned char)raw[i];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    char *hdr = raw + 8, *a = strstr(hdr, pat);
    CHECK_MSG(a && a < hdr + n, "%s: no metadata '%s'", src, key);
    if (!a || a >= hdr + n) return free(raw);
    char *b = strchr(a + strlen(pat), '"');
    size_t head = (size_t)(a + strlen(pat) - hdr), tail = (size_t)(hdr + n - b);
    while (tail > 0 && b[tail - 1] == ' ') tail--; /* the old padding */
    size_t nh = head + strlen(val) + tail, padded = (nh + 7) / 8 * 8, data = len - 8 - n;
    char *o = malloc(8 + padded + data);
    for (int i = 0; i < 8; i++) o[i] = (char)((uint64_t)padded >> (8 * i));
    memcpy(o + 8, hdr, head);
    memcpy(o + 8 + head, val, strlen(val));
    memcpy(o + 8 + head + strlen(val), b, tail);
    memset(o + 8 + nh, ' ', padded - nh);
    memcpy(o + 8 + padded, hdr + n, data);
    put_file(dst, o, 8 + padded + data);
    free(o), free(raw);
}

/* cmd exits 2 with one line naming the file and what. */
static void refused_cli_at(int line, const char *label, const char *file, const char *what, const char *cmd) {
    int rc = ent_test_run(out, sizeof out, "%s", cmd);
    if (rc != 2 || (file && !strstr(out, file)) || !strstr(out, what) || ent_test_count_lines(out) != 1)
        ent_test_fail(__FILE__, line, "%s: exit %d (want 2 and one line naming %s and '%s'): %s", label, rc,
                      file ? file : "-", what, out);
}
#define REFUSED_CLI(label, file, what, ...)                            \
    do {                                                               \
        char cmd_[4096];                                               \
        snprintf(cmd_, sizeof cmd_, __VA_ARGS__);                      \
        refused_cli_at(__LINE__, label, file, what, cmd_);             \
    } while (0)


/* NaN or Inf weights, a NaN or negative running variance, a negative
 * batch count: eval, hessian, flatness and --init-from refuse the file,
 * naming the tensor (they used to evaluate it, print lambda_max nan, or
 * fail after a step as a "divergence"). */
ENT_TEST(hostile_checkpoint_values) {
    const char *t = ent_test_tmpdir(), *cli = ent_test_cli();
    const char *d = make_data(t, 100);
    int rc = ent_test_run(out, sizeof out, "%s train %s --data-dir %s --epochs 1 --out %s/r", cli, COMMON, d, t);
    CHECK_MSG(rc == 0, "train: %s", out);
    char good[600], bad[600];
    snprintf(good, sizeof good, "%s/r/checkpoint.safetensors", t);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", t);
    const float nan = NAN, inf = -INFINITY, neg = -1.0f;
    const int64_t negcount = -3;
    struct { const char *tensor; const void *v; int size; const char *what; } cases[] = {
        {"fc1.weight", &nan, 4, "'fc1.weight' holds nan at element 7"},
        {"fc2.bias", &inf, 4, "'fc2.bias' holds -inf"},
        {"bn1.running_var", &nan, 4, "'bn1.running_var' holds nan"},
        {"bn1.running_var", &neg, 4, "'bn1.running_var' holds -1 at element 7 (must be >= 0)"},
        {"bn1.num_batches_tracked", &negcount, 8, "'bn1.num_batches_tracked' holds -3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        poke(good, bad, cases[i].tensor, cases[i].size == 8 ? 0 : 7, cases[i].v, cases[i].size);
        REFUSED_CLI("eval", bad, cases[i].what, "%s eval --checkpoint %s --dataset mnist --data-dir %s", cli, bad, d);
        if (i == 0) {
            REFUSED_CLI("hessian", bad, cases[i].what, "%s hessian --checkpoint %s --dataset mnist --data-dir %s "
                        "--samples 50 --threads 1 --out %s/h", cli, bad, d, t);
            REFUSED_CLI("flatness", bad, cases[i].what, "%s flatness --checkpoint %s --dataset mnist --data-dir %s "
                        "--samples 1 --train-subset 50 --test-subset 50 --threads 1 --out %s/f", cli, bad, d, t);
        }
        REFUSED_CLI("--init-from", bad, cases[i].what, "%s train %s --data-dir %s --epochs 1 --init-from %s --out %s/i%zu",
                    cli, COMMON, d, bad, t, i);
    }
    /* model settings in the metadata: named with file and key, not read as 0 */
    set_meta(good, bad, "model.bn_eps", "abc");
    REFUSED_CLI("bn_eps abc", bad, "'model.bn_eps' = 'abc' is not a number", "%s eval --checkpoint %s --dataset mnist "
                "--data-dir %s", cli, bad, d);
    set_meta(good, bad, "model.dropout", "1.5");
    REFUSED_CLI("dropout 1.5", bad, "'model.dropout' = '1.5'", "%s eval --checkpoint %s --dataset mnist --data-dir %s",
                cli, bad, d);
    rc = ent_test_run(out, sizeof out, "%s eval --checkpoint %s --dataset mnist --data-dir %s", cli, good, d);
    CHECK_MSG(rc == 0, "the good checkpoint: %s", out);
}

/* Run state out of range is refused on --resume, naming the key: a
 * negative step (strtoull read "-5" as 2^64 - 5), 2^64 - 1, a sampler
 * epoch of INT64_MAX (a signed overflow at the next epoch). */
ENT_TEST(hostile_resume_state) {
    const char *t = ent_test_tmpdir(), *cli = ent_test_cli();
    const char *d = make_data(t, 100);
    int rc = ent_test_run(out, sizeof out, "%s train %s --data-dir %s --epochs 1 --out %s/r", cli, COMMON, d, t);
    CHECK_MSG(rc == 0, "train: %s", out);
    char ck[600], keep[600];
    snprintf(ck, sizeof ck, "%s/r/checkpoint.safetensors", t);
    snprintf(keep, sizeof keep, "%s/keep.safetensors", t);
    rc = ent_test_run(out, sizeof out, "cp %s %s", ck, keep);
    struct { const char *key, *val, *what; } cases[] = {
        {"run.step", "-5", "'run.step' = '-5' is not an unsigned"},
        {"run.step", "18446744073709551615", "'run.step' = 18446744073709551615 is out of range"},
        {"run.step", "18446744073709551616", "'run.step' = '18446744073709551616' is not an unsigned"},
        {"run.sampler_epoch", "9223372036854775807", "'run.sampler_epoch' = 9223372036854775807 is out of range"},
        {"run.sampler_pos", " 5", "'run.sampler_pos' = ' 5'"},
        {"run.wall_seconds", "nan", "'run.wall_seconds' = 'nan'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        set_meta(keep, ck, cases[i].key, cases[i].val);
        REFUSED_CLI(cases[i].key, ck, cases[i].what, "%s train --resume %s/r --epochs 2", cli, t);
    }
}

/* The limits of docs/guide.md, refused before anything is allocated. */
ENT_TEST(hostile_option_limits) {
    const char *t = ent_test_tmpdir(), *cli = ent_test_cli();
    const char *d = make_data(t, 100);
    REFUSED_CLI("batch", NULL, "--batch-size must be in 1..65536", "%s train %s --data-dir %s --batch-size 1000000000 "
                "--out %s/a", cli, COMMON, d, t);
    REFUSED_CLI("epochs", NULL, "--epochs must be in (0, 1e+06]", "%s train %s --data-dir %s --epochs 1e30 --out %s/a",
                cli, COMMON, d, t);
    REFUSED_CLI("threads", NULL, "--threads must be in 0..1024", "%s train %s --data-dir %s --threads 10000 --out %s/a",
                cli, COMMON, d, t);
    REFUSED_CLI("replicas", NULL, "--replicas must be in 1..1024", "%s train %s --data-dir %s --optimizer "
                "replicated-sgd --replicas 1000000 --out %s/a", cli, COMMON, d, t);
    REFUSED_CLI("L", NULL, "L = 1e+06: must be in 1..100000", "%s train %s --data-dir %s --optimizer entropy-sgd "
                "--L 1000000 --out %s/a", cli, COMMON, d, t);
    /* 100 samples of 50: 2 batches an epoch; L = 5 would be 2.5 epochs for a budget of 1 */
    REFUSED_CLI("L budget", NULL, "one update uses 5 mini-batches", "%s train %s --data-dir %s --optimizer entropy-sgd "
                "--L 5 --epochs 1 --out %s/a", cli, COMMON, d, t);
    /* 1024 replicas of resnet18 fit no machine: refused from the first one's size */
    char x[700], y[700];
    snprintf(x, sizeof x, "%s/x.npy", t);
    snprintf(y, sizeof y, "%s/y.npy", t);
    static const char hx[] = "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3, 32, 32), }";
    static const char hy[] = "\x93NUMPY\x01\x00\x76\x00{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }";
    char buf[128 + 4 * 3072 * 4];
    memset(buf, 0, sizeof buf);
    memset(buf, ' ', 128);
    memcpy(buf, hx, sizeof hx - 1), buf[127] = '\n';
    put_file(x, buf, 128 + 4 * 3072 * 4);
    memset(buf, 0, sizeof buf);
    memset(buf, ' ', 128);
    memcpy(buf, hy, sizeof hy - 1), buf[127] = '\n';
    buf[128 + 8] = 1;
    put_file(y, buf, 128 + 4 * 8);
    REFUSED_CLI("replicas memory", NULL, "more than this machine's", "%s train --model resnet18 --dataset arrays "
                "--train-x %s --train-y %s --test-x %s --test-y %s --batch-size 2 --threads 1 --quiet --optimizer "
                "replicated-sgd --replicas 1024 --out %s/a", cli, x, y, x, y, t);
    struct stat st;
    char a[600];
    snprintf(a, sizeof a, "%s/a", t);
    CHECK_MSG(stat(a, &st) != 0, "a refused run left its directory %s", a);
    int rc = ent_test_run(out, sizeof out, "%s train %s --data-dir %s --epochs 1 --out %s/r", cli, COMMON, d, t);
    CHECK_MSG(rc == 0, "train: %s", out);
    char ck[600];
    snprintf(ck, sizeof ck, "%s/r/checkpoint.safetensors", t);
    REFUSED_CLI("eval threads", NULL, "--threads must be in 0..1024", "%s eval --checkpoint %s --dataset mnist "
                "--data-dir %s --threads 10000", cli, ck, d);
    REFUSED_CLI("hessian threads", NULL, "--threads must be in 0..1024", "%s hessian --checkpoint %s --dataset mnist "
                "--data-dir %s --threads 10000 --out %s/h", cli, ck, d, t);
    REFUSED_CLI("hessian batch", NULL, "--batch must be in 1..65536", "%s hessian --checkpoint %s --dataset mnist "
                "--data-dir %s --batch 1000000000 --out %s/h", cli, ck, d, t);
    REFUSED_CLI("flatness temps", NULL, "--temps must be in 1..1000", "%s flatness --checkpoint %s --dataset mnist "
                "--data-dir %s --measure local-entropy --temps 1000000000 --out %s/f", cli, ck, d, t);
    REFUSED_CLI("flatness threads", NULL, "--threads must be in 0..1024", "%s flatness --checkpoint %s --dataset mnist "
                "--data-dir %s --threads 10000 --out %s/f", cli, ck, d, t);
}

/* The small defects of a run directory: a stale .tmp of a write that was
 * killed goes at the next start; --resume of a run stopped before its
 * first checkpoint says to start again; options given again on --resume
 * replace their recorded occurrences in config.json's argv; a resumed
 * session that diverges leaves config.json as its checkpoint was written
 * (its --lr does not stick to the next resume); a divergence after --force
 * over an old run does not name the old run's checkpoint. */
ENT_TEST(hostile_run_directory) {
    const char *t = ent_test_tmpdir(), *cli = ent_test_cli();
    const char *d = make_data(t, 100);
    int rc = ent_test_run(out, sizeof out, "%s train %s --data-dir %s --epochs 1 --out %s/r", cli, COMMON, d, t);
    CHECK_MSG(rc == 0, "train: %s", out);
    char p[600];
    snprintf(p, sizeof p, "%s/r/checkpoint.safetensors.tmp", t);
    put_file(p, "torn", 4);
    for (int i = 0; i < 3; i++) {
        rc = ent_test_run(out, sizeof out, "%s train --resume %s/r --epochs %d --threads 1", cli, t, 2 + i);
        CHECK_MSG(rc == 0, "resume %d: %s", i, out);
    }
    CHECK_MSG(access(p, F_OK) != 0, "%s is still there", p);
    rc = ent_test_run(out, sizeof out, "grep -c -- '--threads' %s/r/config.json", t);
    CHECK_MSG(rc == 0 && atoi(out) == 1, "config.json holds --threads on %s lines", out);
    rc = ent_test_run(out, sizeof out, "tr -d ' \\n' < %s/r/config.json | grep -o '\"argv\":\\[[^]]*\\]'", t);
    CHECK_MSG(strstr(out, "\"--epochs\",\"4\"") && !strstr(out, "\"--epochs\",\"1\"") && !strstr(out, "\"3\""),
              "argv after three resumes: %s", out);
    /* a diverging resume keeps the settings of the checkpoint */
    rc = ent_test_run(out, sizeof out, "%s train --resume %s/r --epochs 6 --lr 1e30", cli, t);
    CHECK_MSG(rc == 1, "--lr 1e30: exit %d: %s", rc, out);
    rc = ent_test_run(out, sizeof out, "grep -c 1e30 %s/r/config.json", t);
    CHECK_MSG(atoi(out) == 0, "config.json took the diverged session's --lr: %s", out);
    rc = ent_test_run(out, sizeof out, "%s train --resume %s/r --epochs 5", cli, t);
    CHECK_MSG(rc == 0, "the next plain resume: %s", out);
    /* --force over the old run, diverging before its first checkpoint */
    rc = ent_test_run(out, sizeof out, "%s train %s --data-dir %s --epochs 1 --lr 1e30 --force --out %s/r", cli,
                      COMMON, d, t);
    CHECK_MSG(rc == 1 && strstr(out, "no checkpoint had been written yet") && !strstr(out, "is kept in"),
              "--force, diverged: exit %d: %s", rc, out);
    if (ent_test_have_mpi()) { /* every rank says the same */
        rc = ent_test_run(out, sizeof out, "timeout 120 " MPIRUN " -np 2 %s train %s --data-dir %s --epochs 1 --lr 1e30 "
                          "--force --out %s/r", cli, COMMON, d, t);
        CHECK_MSG(rc != 0 && strstr(out, "no checkpoint had been written yet") && !strstr(out, "is kept in"),
                  "2 ranks, --force, diverged: exit %d: %s", rc, out);
    }
    /* killed before its first checkpoint: config.json but no checkpoint */
    snprintf(p, sizeof p, "%s/r/checkpoint.safetensors", t);
    unlink(p);
    REFUSED_CLI("resume without checkpoint", p, "start it again", "%s train --resume %s/r", cli, t);
}
