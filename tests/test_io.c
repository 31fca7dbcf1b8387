/* test_io.c — safetensors, JSON and atomic file writes. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static void write_bytes(const char *path, const char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fwrite(data, 1, len, f) == len);
    fclose(f);
}

/* A small valid file: w[2,3] F32, step (0-D I64), b[4] F32, metadata. */
static ent_status write_sample(const char *path) {
    static const float w[6] = {1.5f, -2.25f, 3.0f, 1e-30f, -0.0f, 65504.0f};
    static const float b[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    static const float step = 12345.0f;
    ent_st_tensor t[3] = {
        {"layers.0.weight", 2, {2, 3}, w, 0},
        {"num_batches_tracked", 0, {0}, &step, 1},
        {"layers.0.bias", 1, {4}, b, 0},
    };
    const char *k[2] = {"format", "quote\"key"};
    const char *v[2] = {"pt", "line\nbreak \\ \x01"};
    return ent_safetensors_write(path, t, 3, k, v, 2);
}

ENT_TEST(safetensors_roundtrip) {
    char path[600];
    snprintf(path, sizeof path, "%s/a.safetensors", ent_test_tmpdir());
    CHECK_OK(write_sample(path));
    ent_st_file *f = NULL;
    CHECK_OK(ent_safetensors_read(&f, path));
    if (!f) return;
    CHECK(ent_st_count(f) == 3);
    int nd = -1;
    int64_t sh[4];
    CHECK(ent_st_find(f, "layers.0.weight", &nd, sh));
    CHECK(nd == 2 && sh[0] == 2 && sh[1] == 3);
    CHECK(ent_st_find(f, "num_batches_tracked", &nd, sh));
    CHECK(nd == 0);
    CHECK(!ent_st_find(f, "nope", &nd, sh));
    float w[6], b[4], step = 0;
    CHECK_OK(ent_st_get(f, "layers.0.weight", w, 6));
    CHECK(w[0] == 1.5f && w[1] == -2.25f && w[3] == 1e-30f && w[5] == 65504.0f);
    CHECK(w[4] == 0.0f && signbit(w[4]));
    CHECK_OK(ent_st_get(f, "layers.0.bias", b, 4));
    CHECK(b[2] == 0.3f);
    CHECK_OK(ent_st_get(f, "num_batches_tracked", &step, 1));
    CHECK(step == 12345.0f);
    /* numel mismatch: ESHAPE naming tensor, expected and got */
    CHECK(ent_st_get(f, "layers.0.weight", w, 5) == ENT_ESHAPE);
    CHECK(strstr(ent_last_error(), "layers.0.weight") &&
          strstr(ent_last_error(), "5") && strstr(ent_last_error(), "6"));
    CHECK(ent_st_get(f, "nope", w, 1) != ENT_OK);
    CHECK(ent_st_meta(f, "format") && strcmp(ent_st_meta(f, "format"), "pt") == 0);
    CHECK(ent_st_meta(f, "quote\"key") &&
          strcmp(ent_st_meta(f, "quote\"key"), "line\nbreak \\ \x01") == 0);
    CHECK(ent_st_meta(f, "absent") == NULL);
    ent_st_file_free(f);
    ent_st_file_free(NULL);

    /* Header length multiple of 8, data follows contiguously. */
    char *raw = NULL;
    size_t len = 0;
    CHECK_OK(ent_read_file(path, &raw, &len));
    if (!raw) return;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | (unsigned char)raw[i];
    CHECK(n % 8 == 0);
    CHECK(len == 8 + n + 6 * 4 + 8 + 4 * 4);
    CHECK(raw[8] == '{');
    free(raw);

    /* Empty file (no tensors, no metadata) is legal too. */
    CHECK_OK(ent_safetensors_write(path, NULL, 0, NULL, NULL, 0));
    CHECK_OK(ent_safetensors_read(&f, path));
    CHECK(f && ent_st_count(f) == 0);
    ent_st_file_free(f);
}

ENT_TEST(safetensors_write_rejects_bad_input) {
    char path[600];
    snprintf(path, sizeof path, "%s/b.safetensors", ent_test_tmpdir());
    float x[2] = {1, 2};
    ent_st_tensor t[2] = {{"a", 1, {2}, x, 0}, {"a", 1, {2}, x, 0}};
    CHECK(ent_safetensors_write(path, t, 2, NULL, NULL, 0) == ENT_EINVAL);
    t[1].name = "__metadata__";
    CHECK(ent_safetensors_write(path, t, 2, NULL, NULL, 0) == ENT_EINVAL);
    t[1].name = "b";
    t[1].ndim = 5;
    CHECK(ent_safetensors_write(path, t, 2, NULL, NULL, 0) == ENT_EINVAL);
    t[1].ndim = 1;
    t[1].shape[0] = -1;
    CHECK(ent_safetensors_write(path, t, 2, NULL, NULL, 0) == ENT_EINVAL);
    float nanv = NAN;
    ent_st_tensor ti = {"i", 0, {0}, &nanv, 1};
    CHECK(ent_safetensors_write(path, &ti, 1, NULL, NULL, 0) == ENT_EINVAL);
    CHECK(!file_exists(path));
}

/* Writes the 8-byte length + header + data verbatim. */
static void write_st(const char *path, uint64_t hlen, const char *hdr,
                     size_t data_len) {
    size_t hl = strlen(hdr);
    size_t total = 8 + hl + data_len;
    char *b = calloc(1, total);
    for (int i = 0; i < 8; i++) b[i] = (char)(hlen >> (8 * i));
    memcpy(b + 8, hdr, hl);
    write_bytes(path, b, total);
    free(b);
}

static void expect_bad(const char *path, ent_status want, const char *needle) {
    ent_st_file *f = NULL;
    ent_status s = ent_safetensors_read(&f, path);
    CHECK_MSG(s == want, "%s: got %s (%s), want %s", needle, ent_status_name(s),
              ent_last_error(), ent_status_name(want));
    CHECK(f == NULL);
    CHECK_MSG(strstr(ent_last_error(), path), "message lacks path: %s",
              ent_last_error());
    if (needle)
        CHECK_MSG(strstr(ent_last_error(), needle), "message lacks '%s': %s",
                  needle, ent_last_error());
    ent_st_file_free(f);
}

ENT_TEST(safetensors_corrupt) {
    const char *dir = ent_test_tmpdir();
    char good[600], path[600];
    snprintf(good, sizeof good, "%s/good.safetensors", dir);
    snprintf(path, sizeof path, "%s/bad.safetensors", dir);
    CHECK_OK(write_sample(good));
    char *raw = NULL;
    size_t len = 0;
    CHECK_OK(ent_read_file(good, &raw, &len));
    if (!raw) return;

    /* Every truncation is an error, never a crash. */
    for (size_t cut = 0; cut < len; cut += (cut < 80 ? 1 : 7)) {
        write_bytes(path, raw, cut);
        ent_st_file *f = NULL;
        ent_status s = ent_safetensors_read(&f, path);
        CHECK_MSG(s == ENT_EFORMAT, "cut at %zu: %s", cut, ent_status_name(s));
        CHECK(strstr(ent_last_error(), path) != NULL);
        ent_st_file_free(f);
    }
    /* Header length flipped to huge / to one past the file / to zero. */
    char *m = malloc(len);
    memcpy(m, raw, len);
    m[7] = (char)0x80;
    write_bytes(path, m, len);
    expect_bad(path, ENT_EFORMAT, "header length");
    memcpy(m, raw, len);
    uint64_t over = len - 8 + 1;
    for (int i = 0; i < 8; i++) m[i] = (char)(over >> (8 * i));
    write_bytes(path, m, len);
    expect_bad(path, ENT_EFORMAT, "header length");
    memset(m, 0, 8);
    write_bytes(path, m, len);
    expect_bad(path, ENT_EFORMAT, "header");
    /* Every single-byte corruption of the header: error or OK, never a crash
     * (ASan watches). */
    uint64_t hn = 0;
    for (int i = 7; i >= 0; i--) hn = hn << 8 | (unsigned char)raw[i];
    for (size_t i = 8; i < 8 + hn; i++) {
        memcpy(m, raw, len);
        m[i] = (char)(m[i] ^ 0x5a);
        write_bytes(path, m, len);
        ent_st_file *f = NULL;
        if (ent_safetensors_read(&f, path) == ENT_OK) {
            float buf[8];
            for (int k = 0; k < ent_st_count(f); k++) {
                (void)ent_st_get(f, "layers.0.weight", buf, 6);
                (void)ent_st_get(f, "layers.0.bias", buf, 4);
            }
        }
        ent_st_file_free(f);
    }
    free(m);
    free(raw);

    /* Hand-made headers. */
    const char *h;
    h = "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}";
    write_st(path, strlen(h), h, 4);
    expect_bad(path, ENT_EFORMAT, "F16");
    h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    write_st(path, strlen(h), h, 4);
    expect_bad(path, ENT_EFORMAT, "outside");
    h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,4]}}";
    write_st(path, strlen(h), h, 16);
    expect_bad(path, ENT_EFORMAT, "'a'");
    h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}";
    write_st(path, strlen(h), h, 8);
    expect_bad(path, ENT_EFORMAT, "12 bytes");
    h = "{\"a\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    write_st(path, strlen(h), h, 8);
    expect_bad(path, ENT_EFORMAT, "16 bytes");
    h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}";
    write_st(path, strlen(h), h, 8);
    expect_bad(path, ENT_EFORMAT, "shape");
    h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}";
    write_st(path, strlen(h), h, 8);
    expect_bad(path, ENT_EFORMAT, "shape");
    h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,4]}}";
    write_st(path, strlen(h), h, 4);
    expect_bad(path, ENT_EFORMAT, "dimensions");
    h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
        "\"data_offsets\":[0,4]}}";
    write_st(path, strlen(h), h, 4);
    expect_bad(path, ENT_EFORMAT, "'a'");
    h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}";
    write_st(path, strlen(h), h, 4);
    expect_bad(path, ENT_EFORMAT, "data_offsets");
    h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1e300]}}";
    write_st(path, strlen(h), h, 4);
    expect_bad(path, ENT_EFORMAT, "data_offsets");
    h = "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}";
    write_st(path, strlen(h), h, 4);
    expect_bad(path, ENT_EFORMAT, "dtype");
    h = "{\"a\":[1,2]}";
    write_st(path, strlen(h), h, 0);
    expect_bad(path, ENT_EFORMAT, "'a'");
    h = "[1,2]";
    write_st(path, strlen(h), h, 0);
    expect_bad(path, ENT_EFORMAT, "object");
    h = "{\"__metadata__\":{\"k\":1}}";
    write_st(path, strlen(h), h, 0);
    expect_bad(path, ENT_EFORMAT, "__metadata__");
    h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
    write_st(path, strlen(h), h, 4);
    expect_bad(path, ENT_EFORMAT, "byte");
    /* Overlapping tensors are refused (as the reference implementation
     * does; test_hostile.c has the other layouts); a 0-D tensor is read. */
    h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[4,8]}}";
    write_st(path, strlen(h), h, 8);
    expect_bad(path, ENT_EFORMAT, "overlap");
    h = "{\"b\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}";
    write_st(path, strlen(h), h, 4);
    ent_st_file *f = NULL;
    CHECK_OK(ent_safetensors_read(&f, path));
    float v[2] = {9, 9};
    if (f) CHECK_OK(ent_st_get(f, "b", v, 1));
    CHECK(v[0] == 0.0f);
    ent_st_file_free(f);
    /* Missing file. */
    snprintf(path, sizeof path, "%s/missing.safetensors", dir);
    expect_bad(path, ENT_ENOENT, NULL);
}

/* Interoperability: tools/check_safetensors.py parses our file by hand with
 * numpy. Skipped where python3 with numpy is not available. */
ENT_TEST(safetensors_python_reader) {
    if (ent_test_run(NULL, 0, "/usr/bin/python3 -c 'import numpy'") != 0 ||
        !file_exists("tools/check_safetensors.py")) {
        printf("    skip: /usr/bin/python3 with numpy or tools/ not found\n");
        return;
    }
    char path[600], out[4096];
    snprintf(path, sizeof path, "%s/py.safetensors", ent_test_tmpdir());
    CHECK_OK(write_sample(path));
    int rc = ent_test_run(out, sizeof out,
                          "/usr/bin/python3 tools/check_safetensors.py --values %s",
                          path);
    CHECK_MSG(rc == 0, "check_safetensors.py exit %d: %s", rc, out);
    CHECK_MSG(strstr(out, "layers.0.weight F32 [2, 3]"), "%s", out);
    CHECK_MSG(strstr(out, "num_batches_tracked I64 []"), "%s", out);
    CHECK_MSG(strstr(out, "layers.0.bias F32 [4]"), "%s", out);
    CHECK_MSG(strstr(out, "12345"), "%s", out);
    CHECK_MSG(strstr(out, "-2.25"), "%s", out);
}

/* ------------------------------------------------------------------ JSON */

ENT_TEST(json_writer_and_reader) {
    ent_json j;
    ent_json_init(&j);
    ent_json_begin_object(&j, NULL);
    ent_json_string(&j, "s", "q\" b\\ n\n t\t c\x01 u\xc3\xa9");
    ent_json_number(&j, "pi", 3.141592653589793);
    ent_json_number(&j, "tenth", 0.1);
    ent_json_number(&j, "tiny", 4.9e-324);
    ent_json_number(&j, "nan", NAN);
    ent_json_number(&j, "inf", -INFINITY);
    ent_json_int(&j, "big", INT64_C(-9007199254740993));
    ent_json_bool(&j, "t", 1);
    ent_json_bool(&j, "f", 0);
    ent_json_string(&j, "null", NULL);
    ent_json_begin_array(&j, "arr");
    ent_json_int(&j, NULL, 1);
    ent_json_begin_object(&j, NULL);
    ent_json_end_object(&j);
    ent_json_begin_array(&j, NULL);
    ent_json_end_array(&j);
    ent_json_end_array(&j);
    ent_json_end_object(&j);
    CHECK(!j.failed && j.depth == 0);
    CHECK(strstr(j.buf, "\"q\\\" b\\\\ n\\n t\\t c\\u0001 u\xc3\xa9\""));
    CHECK(strstr(j.buf, "\"tenth\": 0.1,"));
    CHECK(strstr(j.buf, "\"nan\": null"));
    CHECK(strstr(j.buf, "\"inf\": null"));

    ent_jv v;
    CHECK_OK(ent_jv_parse(&v, j.buf, j.len));
    CHECK(v.type == ENT_JSON_OBJECT);
    const ent_jv *x = ent_jv_get(&v, "s");
    CHECK(x && x->type == ENT_JSON_STRING &&
          strcmp(x->str, "q\" b\\ n\n t\t c\x01 u\xc3\xa9") == 0);
    x = ent_jv_get(&v, "pi");
    CHECK(x && x->num == 3.141592653589793);
    x = ent_jv_get(&v, "tenth");
    CHECK(x && x->num == 0.1);
    x = ent_jv_get(&v, "tiny");
    CHECK(x && x->num == 4.9e-324);
    x = ent_jv_get(&v, "nan");
    CHECK(x && x->type == ENT_JSON_NULL);
    x = ent_jv_get(&v, "big");
    CHECK(x && x->type == ENT_JSON_NUMBER && x->num == -9007199254740992.0);
    x = ent_jv_get(&v, "t");
    CHECK(x && x->type == ENT_JSON_BOOL && x->num == 1);
    x = ent_jv_get(&v, "f");
    CHECK(x && x->type == ENT_JSON_BOOL && x->num == 0);
    x = ent_jv_get(&v, "arr");
    CHECK(x && x->type == ENT_JSON_ARRAY && x->n == 3);
    if (x && x->n == 3) {
        CHECK(x->items[1].type == ENT_JSON_OBJECT && x->items[1].n == 0);
        CHECK(x->items[2].type == ENT_JSON_ARRAY && x->items[2].n == 0);
    }
    CHECK(ent_jv_get(&v, "absent") == NULL);
    CHECK(ent_jv_get(x, "s") == NULL); /* not an object */
    ent_jv_free(&v);

    /* Save atomically and read back. */
    char path[600];
    snprintf(path, sizeof path, "%s/a.json", ent_test_tmpdir());
    CHECK_OK(ent_json_save(&j, path));
    char *txt = NULL;
    size_t len = 0;
    CHECK_OK(ent_read_file(path, &txt, &len));
    CHECK(txt && len == j.len && memcmp(txt, j.buf, len) == 0);
    free(txt);
    ent_json_free(&j);

    /* Unbalanced writer use is caught, not written. */
    ent_json_init(&j);
    ent_json_end_object(&j);
    CHECK(j.failed);
    CHECK(ent_json_save(&j, path) != ENT_OK);
    ent_json_free(&j);
    ent_json_init(&j);
    for (int i = 0; i < 40; i++) ent_json_begin_array(&j, NULL);
    CHECK(j.failed);
    ent_json_free(&j);
}

ENT_TEST(json_reader_escapes_and_numbers) {
    const char *t = " { \"a\" : [ -0.5e+2 , 0 , 1E3, true, false, null ],"
                    "\"u\":\"\\u00e9\\ud83d\\ude00\\/\\b\\f\\r\" } ";
    ent_jv v;
    CHECK_OK(ent_jv_parse(&v, t, strlen(t)));
    const ent_jv *a = ent_jv_get(&v, "a");
    CHECK(a && a->n == 6 && a->items[0].num == -50 && a->items[2].num == 1000);
    const ent_jv *u = ent_jv_get(&v, "u");
    CHECK(u && strcmp(u->str, "\xc3\xa9\xf0\x9f\x98\x80/\b\f\r") == 0);
    ent_jv_free(&v);
    /* Not NUL-terminated: parse a prefix of a longer buffer. */
    const char *pre = "[1,2]garbage";
    CHECK_OK(ent_jv_parse(&v, pre, 5));
    CHECK(v.type == ENT_JSON_ARRAY && v.n == 2);
    ent_jv_free(&v);
    CHECK_OK(ent_jv_parse(&v, "7", 1));
    CHECK(v.type == ENT_JSON_NUMBER && v.num == 7);
    ent_jv_free(&v);
}

ENT_TEST(json_reader_malformed) {
    static const char *bad[] = {
        "", " ", "{", "[", "}", "]", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":1,",
        "{\"a\":1,}", "[1,]", "[1 2]", "{1:2}", "{\"a\" 1}", "\"abc", "\"a\\",
        "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "\"\\ud800\"", "\"\\udc00\"",
        "\"\\ud800\\u0041\"", "\"\\u0000\"", "\"a\nb\"", "01", "-", "1.", "1e",
        "1e+", ".5", "+1", "tru", "nul", "falsey", "[1]]", "{} {}", "nan",
        "[\"a\",", "\xff",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ent_jv v;
        ent_status s = ent_jv_parse(&v, bad[i], strlen(bad[i]));
        CHECK_MSG(s == ENT_EFORMAT, "'%s' parsed (%s)", bad[i], ent_status_name(s));
        CHECK_MSG(strstr(ent_last_error(), "byte"), "no offset: %s",
                  ent_last_error());
        ent_jv_free(&v);
    }
    /* The offset is the position of the problem. */
    ent_jv v;
    CHECK(ent_jv_parse(&v, "[1, 2, x]", 9) == ENT_EFORMAT);
    CHECK_MSG(strstr(ent_last_error(), "byte 7"), "%s", ent_last_error());
    /* Every prefix of a valid document but the whole is an error; reading
     * an exact-size heap copy lets ASan catch any read past len. */
    const char *doc = "{\"k\": [1.5e3, \"s\\u00e9\\n\", {\"x\": null}, true], "
                      "\"z\": -0}";
    size_t n = strlen(doc);
    for (size_t cut = 0; cut <= n; cut++) {
        char *c = malloc(cut ? cut : 1);
        memcpy(c, doc, cut);
        ent_status s = ent_jv_parse(&v, c, cut);
        CHECK_MSG((s == ENT_OK) == (cut == n), "prefix %zu: %s", cut,
                  ent_status_name(s));
        ent_jv_free(&v);
        free(c);
    }
}

ENT_TEST(json_depth_limit) {
    char buf[300];
    ent_jv v;
    for (int depth = 63; depth <= 66; depth++) {
        int k = 0;
        for (int i = 0; i < depth; i++) buf[k++] = '[';
        for (int i = 0; i < depth; i++) buf[k++] = ']';
        ent_status s = ent_jv_parse(&v, buf, (size_t)k);
        CHECK_MSG((s == ENT_OK) == (depth <= 64), "depth %d: %s", depth,
                  ent_status_name(s));
        if (s != ENT_OK) CHECK(strstr(ent_last_error(), "64") != NULL);
        ent_jv_free(&v);
    }
    /* Very deep input: rejected quickly, no stack overflow. */
    size_t big = 1000000;
    char *deep = malloc(big);
    memset(deep, '[', big);
    CHECK(ent_jv_parse(&v, deep, big) == ENT_EFORMAT);
    memset(deep, '{', big);
    CHECK(ent_jv_parse(&v, deep, big) == ENT_EFORMAT);
    free(deep);
}

/* ----------------------------------------------------------------- files */

ENT_TEST(atomic_write) {
    const char *dir = ent_test_tmpdir();
    char path[600], tmp[800];
    snprintf(path, sizeof path, "%s/f.txt", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK_OK(ent_write_file_atomic(path, "first version", 13));
    CHECK(!file_exists(tmp));
    CHECK_OK(ent_write_file_atomic(path, "second", 6));
    CHECK(!file_exists(tmp));
    char *d = NULL;
    size_t n = 0;
    CHECK_OK(ent_read_file(path, &d, &n));
    CHECK(d && n == 6 && memcmp(d, "second", 6) == 0 && d[6] == 0);
    free(d);
    CHECK_OK(ent_write_file_atomic(path, "", 0));
    CHECK_OK(ent_read_file(path, &d, &n));
    CHECK(d && n == 0);
    free(d);
    /* Failures: missing directory, and a directory in the way of rename. */
    char bad[700];
    snprintf(bad, sizeof bad, "%s/no/such/dir/f", dir);
    CHECK(ent_write_file_atomic(bad, "x", 1) != ENT_OK);
    CHECK(strstr(ent_last_error(), "no/such/dir") != NULL);
    snprintf(bad, sizeof bad, "%s/subdir", dir);
    mkdir(bad, 0700);
    char inner[720];
    snprintf(inner, sizeof inner, "%s/keep", bad);
    write_bytes(inner, "k", 1);
    CHECK(ent_write_file_atomic(bad, "x", 1) == ENT_EIO);
    CHECK(strstr(ent_last_error(), bad) != NULL);
    snprintf(tmp, sizeof tmp, "%s.tmp", bad);
    CHECK_MSG(!file_exists(tmp), "temp file left behind: %s", tmp);
    /* Reads. */
    snprintf(bad, sizeof bad, "%s/missing", dir);
    CHECK(ent_read_file(bad, &d, &n) == ENT_ENOENT);
    CHECK(strstr(ent_last_error(), bad) != NULL);
    /* A larger file, read in several chunks. */
    size_t big = 300000;
    char *b = malloc(big);
    for (size_t i = 0; i < big; i++) b[i] = (char)(i * 31 + 7);
    CHECK_OK(ent_write_file_atomic(path, b, big));
    CHECK_OK(ent_read_file(path, &d, &n));
    CHECK(d && n == big && memcmp(d, b, big) == 0);
    free(d);
    free(b);
}

/* Float settings are written as the shortest decimal that reads back as
 * the same float (config.json, checkpoint metadata): 0.15f is "0.15", so
 * config["dropout"] == 0.15 holds in Python. Every float of a sweep over
 * the bit patterns must round-trip. */
ENT_TEST(io_shortest_float) {
    char b[24];
    const struct { float v; const char *want; } cases[] = {
        {0.15f, "0.15"}, {0.1f, "0.1"}, {1e-5f, "1e-05"}, {0.2f, "0.2"}, {0.5f, "0.5"}, {3.0f, "3"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ent_shortest_float(b, sizeof b, cases[i].v);
        CHECK_MSG(strcmp(b, cases[i].want) == 0, "%.9g written as %s, want %s", (double)cases[i].v, b,
                  cases[i].want);
    }
    int bad = 0;
    for (uint32_t u = 0x00800000u; u < 0x7f800000u; u += 0x00012345u) {
        float v;
        memcpy(&v, &u, sizeof v);
        ent_shortest_float(b, sizeof b, v);
        bad += strtof(b, NULL) != v;
    }
    CHECK_MSG(bad == 0, "%d floats do not read back from their shortest decimal", bad);
    ent_json j;
    ent_json_init(&j);
    ent_json_begin_object(&j, NULL);
    ent_json_float(&j, "dropout", 0.15f);
    ent_json_end_object(&j);
    CHECK_MSG(strstr(j.buf, "\"dropout\": 0.15") != NULL, "json: %s", j.buf);
    ent_json_free(&j);
}
