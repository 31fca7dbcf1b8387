/* json.c — a small streaming JSON writer and a recursive-descent reader.
 *
 * Writer: pretty-printed (one member per line, two-space indent), strings
 * escaped per RFC 8259, doubles with the fewest of 15/16/17 significant
 * digits that round-trip exactly, NaN and infinities written as null.
 * Any allocation failure or misuse (too deep, unbalanced end) sets
 * j->failed; ent_json_save then refuses to write.
 *
 * Reader: never reads at or past text[len] (the text need not be
 * NUL-terminated), nests at most 64 deep, rejects trailing content, and
 * reports the byte offset of the first error. Strings are decoded to UTF-8;
 * "\u0000" is rejected because values are handed out as C strings. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entropic.h"

#define JSON_MAX_DEPTH 64
#define WRITER_MAX_DEPTH 32 /* sizeof need_comma / sizeof int */

/* ------------------------------------------------------------------ writer */

void ent_json_init(ent_json *j) { memset(j, 0, sizeof *j); }

void ent_json_free(ent_json *j) {
    if (!j) return;
    free(j->buf);
    memset(j, 0, sizeof *j);
}

static void put(ent_json *j, const char *s, size_t n) {
    if (j->failed) return;
    if (j->len + n + 1 > j->cap) {
        size_t nc = j->cap ? j->cap : 256;
        while (nc < j->len + n + 1) nc *= 2;
        char *nb = realloc(j->buf, nc);
        if (!nb) {
            j->failed = 1;
            return;
        }
        j->buf = nb;
        j->cap = nc;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = 0;
}

static void puts_(ent_json *j, const char *s) { put(j, s, strlen(s)); }

static void newline_indent(ent_json *j, int depth) {
    put(j, "\n", 1);
    for (int i = 0; i < depth; i++) put(j, "  ", 2);
}

static void put_string(ent_json *j, const char *s) {
    static const char hex[] = "0123456789abcdef";
    put(j, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *esc = NULL;
        char u[7];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0';
                u[4] = hex[c >> 4], u[5] = hex[c & 15], u[6] = 0;
                esc = u;
            }
        }
        if (esc) {
            put(j, run, (size_t)(s - run));
            puts_(j, esc);
            run = s + 1;
        }
    }
    put(j, run, (size_t)(s - run));
    put(j, "\"", 1);
}

/* Comma, newline and indent before a value, then `"key": ` if in an object. */
static void prefix(ent_json *j, const char *key) {
    if (j->depth < 0 || j->depth >= WRITER_MAX_DEPTH) {
        j->failed = 1;
        return;
    }
    if (j->need_comma[j->depth]) put(j, ",", 1);
    if (j->depth > 0) newline_indent(j, j->depth);
    j->need_comma[j->depth] = 1;
    if (key) {
        put_string(j, key);
        put(j, ": ", 2);
    }
}

static void begin(ent_json *j, const char *key, const char *open) {
    prefix(j, key);
    puts_(j, open);
    if (j->depth + 1 >= WRITER_MAX_DEPTH) {
        j->failed = 1;
        return;
    }
    j->depth++;
    j->need_comma[j->depth] = 0;
}

static void end(ent_json *j, const char *close) {
    if (j->depth <= 0) {
        j->failed = 1;
        return;
    }
    int had = j->need_comma[j->depth];
    j->depth--;
    if (had) newline_indent(j, j->depth);
    puts_(j, close);
    if (j->depth == 0) put(j, "\n", 1);
}

void ent_json_begin_object(ent_json *j, const char *key) { begin(j, key, "{"); }
void ent_json_end_object(ent_json *j) { end(j, "}"); }
void ent_json_begin_array(ent_json *j, const char *key) { begin(j, key, "["); }
void ent_json_end_array(ent_json *j) { end(j, "]"); }

void ent_json_string(ent_json *j, const char *key, const char *v) {
    prefix(j, key);
    if (v)
        put_string(j, v);
    else
        puts_(j, "null");
}

void ent_json_number(ent_json *j, const char *key, double v) {
    prefix(j, key);
    if (!isfinite(v)) {
        puts_(j, "null");
        return;
    }
    char b[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, v);
        if (strtod(b, NULL) == v) break;
    }
    puts_(j, b);
}

void ent_shortest_float(char *buf, size_t cap, float v) {
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, cap, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v) return;
    }
}

void ent_json_float(ent_json *j, const char *key, float v) {
    if (!isfinite(v)) {
        ent_json_number(j, key, v);
        return;
    }
    char b[24];
    ent_shortest_float(b, sizeof b, v);
    prefix(j, key);
    puts_(j, b);
}

void ent_json_int(ent_json *j, const char *key, int64_t v) {
    prefix(j, key);
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)v);
    puts_(j, b);
}

void ent_json_bool(ent_json *j, const char *key, int v) {
    prefix(j, key);
    puts_(j, v ? "true" : "false");
}

ent_status ent_json_save(const ent_json *j, const char *path) {
    if (!j || j->failed)
        return ent_fail(ENT_ENOMEM, "%s: JSON writer failed (out of memory "
                        "or unbalanced/too deep nesting)", path ? path : "?");
    if (j->depth != 0)
        return ent_fail(ENT_EINVAL, "%s: JSON has %d unclosed containers",
                        path ? path : "?", j->depth);
    return ent_write_file_atomic(path, j->buf ? j->buf : "", j->len);
}

/* ------------------------------------------------------------------ reader */

typedef struct {
    const char *s;
    size_t len, pos;
} parser;

static ent_status perr(const parser *p, const char *what) {
    return ent_fail(ENT_EFORMAT, "JSON: %s at byte %zu", what, p->pos);
}

static void skip_ws(parser *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_u4(parser *p, unsigned *out) {
    if (p->len - p->pos < 4) return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p->s[p->pos + (size_t)i]);
        if (h < 0) return 0;
        v = v * 16 + (unsigned)h;
    }
    p->pos += 4;
    *out = v;
    return 1;
}

/* p->pos at the opening quote. *out malloc'd, NUL-terminated UTF-8. */
static ent_status parse_string(parser *p, char **out) {
    *out = NULL;
    p->pos++; /* '"' */
    /* The decoded string is never longer than the raw text. */
    size_t start = p->pos, end = start;
    while (end < p->len && p->s[end] != '"') {
        if (p->s[end] == '\\') end++;
        end++;
    }
    if (end >= p->len) return perr(p, "unterminated string");
    char *buf = malloc(end - start + 1);
    if (!buf) return ent_fail(ENT_ENOMEM, "JSON: out of memory");
    size_t n = 0;
    while (p->s[p->pos] != '"') {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c < 0x20) {
            free(buf);
            return perr(p, "control character in string");
        }
        if (c != '\\') {
            buf[n++] = (char)c;
            p->pos++;
            continue;
        }
        p->pos++; /* backslash; pos < end guaranteed by the scan above */
        char e = p->s[p->pos++];
        unsigned cp;
        switch (e) {
        case '"': buf[n++] = '"'; continue;
        case '\\': buf[n++] = '\\'; continue;
        case '/': buf[n++] = '/'; continue;
        case 'b': buf[n++] = '\b'; continue;
        case 'f': buf[n++] = '\f'; continue;
        case 'n': buf[n++] = '\n'; continue;
        case 'r': buf[n++] = '\r'; continue;
        case 't': buf[n++] = '\t'; continue;
        case 'u':
            if (!read_u4(p, &cp)) {
                free(buf);
                return perr(p, "bad \\u escape");
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (p->len - p->pos < 2 || p->s[p->pos] != '\\' ||
                    p->s[p->pos + 1] != 'u') {
                    free(buf);
                    return perr(p, "unpaired surrogate");
                }
                p->pos += 2;
                if (!read_u4(p, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                    free(buf);
                    return perr(p, "bad low surrogate");
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                free(buf);
                return perr(p, "unpaired surrogate");
            }
            if (cp == 0) {
                free(buf);
                return perr(p, "\\u0000 in string not supported");
            }
            /* UTF-8 is at most 4 bytes; the escape took at least 6. */
            if (cp < 0x80) {
                buf[n++] = (char)cp;
            } else if (cp < 0x800) {
                buf[n++] = (char)(0xC0 | (cp >> 6));
                buf[n++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                buf[n++] = (char)(0xE0 | (cp >> 12));
                buf[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                buf[n++] = (char)(0x80 | (cp & 0x3F));
            } else {
                buf[n++] = (char)(0xF0 | (cp >> 18));
                buf[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                buf[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                buf[n++] = (char)(0x80 | (cp & 0x3F));
            }
            continue;
        default:
            p->pos--;
            free(buf);
            return perr(p, "bad escape");
        }
    }
    p->pos++; /* closing quote */
    buf[n] = 0;
    *out = buf;
    return ENT_OK;
}

static ent_status parse_number(parser *p, double *out) {
    size_t i = p->pos;
    const char *s = p->s;
#define DIGIT(k) ((k) < p->len && s[k] >= '0' && s[k] <= '9')
    if (i < p->len && s[i] == '-') i++;
    if (!DIGIT(i)) return perr(p, "bad number");
    if (s[i] == '0') {
        i++;
    } else {
        while (DIGIT(i)) i++;
    }
    if (i < p->len && s[i] == '.') {
        i++;
        if (!DIGIT(i)) {
            p->pos = i;
            return perr(p, "bad number (digit expected after '.')");
        }
        while (DIGIT(i)) i++;
    }
    if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < p->len && (s[i] == '+' || s[i] == '-')) i++;
        if (!DIGIT(i)) {
            p->pos = i;
            return perr(p, "bad number (digit expected in exponent)");
        }
        while (DIGIT(i)) i++;
    }
#undef DIGIT
    size_t n = i - p->pos;
    char small[64];
    char *b = n < sizeof small ? small : malloc(n + 1);
    if (!b) return ent_fail(ENT_ENOMEM, "JSON: out of memory");
    memcpy(b, s + p->pos, n);
    b[n] = 0;
    *out = strtod(b, NULL);
    if (b != small) free(b);
    p->pos = i;
    return ENT_OK;
}

static int match_lit(parser *p, const char *lit) {
    size_t n = strlen(lit);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, lit, n) != 0) return 0;
    p->pos += n;
    return 1;
}

static ent_status parse_value(parser *p, ent_jv *v, int depth);

/* Grow items (and keys, for objects) to hold at least n+1 entries. */
static int grow(ent_jv *v, int64_t *cap, int with_keys) {
    if (v->n < *cap) return 1;
    int64_t nc = *cap ? *cap * 2 : 4;
    ent_jv *ni = realloc(v->items, (size_t)nc * sizeof *ni);
    if (!ni) return 0;
    v->items = ni;
    if (with_keys) {
        char **nk = realloc(v->keys, (size_t)nc * sizeof *nk);
        if (!nk) return 0;
        v->keys = nk;
    }
    *cap = nc;
    return 1;
}

static ent_status parse_container(parser *p, ent_jv *v, int depth, int obj) {
    char close = obj ? '}' : ']';
    v->type = obj ? ENT_JSON_OBJECT : ENT_JSON_ARRAY;
    int64_t cap = 0;
    ent_status s;
    p->pos++; /* '{' or '[' */
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return ENT_OK;
    }
    for (;;) {
        if (!grow(v, &cap, obj)) return ent_fail(ENT_ENOMEM, "JSON: out of memory");
        skip_ws(p);
        char *key = NULL;
        if (obj) {
            if (p->pos >= p->len || p->s[p->pos] != '"')
                return perr(p, p->pos >= p->len ? "unexpected end (key expected)"
                                                : "object key expected");
            if ((s = parse_string(p, &key)) != ENT_OK) return s;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') {
                free(key);
                return perr(p, "':' expected");
            }
            p->pos++;
        }
        ent_jv *item = &v->items[v->n];
        memset(item, 0, sizeof *item);
        if ((s = parse_value(p, item, depth + 1)) != ENT_OK) {
            ent_jv_free(item);
            free(key);
            return s;
        }
        if (obj) v->keys[v->n] = key;
        v->n++;
        skip_ws(p);
        if (p->pos >= p->len) return perr(p, "unexpected end");
        char c = p->s[p->pos];
        if (c == ',') {
            p->pos++;
            continue;
        }
        if (c == close) {
            p->pos++;
            return ENT_OK;
        }
        return perr(p, obj ? "',' or '}' expected" : "',' or ']' expected");
    }
}

/* On failure v may be partially built; the caller frees it. */
static ent_status parse_value(parser *p, ent_jv *v, int depth) {
    memset(v, 0, sizeof *v);
    skip_ws(p);
    if (p->pos >= p->len) return perr(p, "unexpected end (value expected)");
    char c = p->s[p->pos];
    switch (c) {
    case '{':
    case '[':
        if (depth >= JSON_MAX_DEPTH) return perr(p, "nesting deeper than 64");
        return parse_container(p, v, depth, c == '{');
    case '"':
        v->type = ENT_JSON_STRING;
        return parse_string(p, &v->str);
    case 't':
    case 'f':
    case 'n':
        if (match_lit(p, "true")) {
            v->type = ENT_JSON_BOOL;
            v->num = 1;
        } else if (match_lit(p, "false")) {
            v->type = ENT_JSON_BOOL;
        } else if (match_lit(p, "null")) {
            v->type = ENT_JSON_NULL;
        } else {
            return perr(p, "bad literal");
        }
        return ENT_OK;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            v->type = ENT_JSON_NUMBER;
            return parse_number(p, &v->num);
        }
        return perr(p, "unexpected character");
    }
}

ent_status ent_jv_parse(ent_jv *out, const char *text, size_t len) {
    if (!out) return ent_fail(ENT_EINVAL, "ent_jv_parse: NULL output");
    memset(out, 0, sizeof *out);
    if (!text && len) return ent_fail(ENT_EINVAL, "ent_jv_parse: NULL text");
    parser p = {text, len, 0};
    ent_status s = parse_value(&p, out, 0);
    if (s == ENT_OK) {
        skip_ws(&p);
        if (p.pos != p.len) s = perr(&p, "trailing content after the value");
    }
    if (s != ENT_OK) {
        ent_jv_free(out);
        memset(out, 0, sizeof *out);
    }
    return s;
}

void ent_jv_free(ent_jv *v) {
    if (!v) return;
    if (v->type == ENT_JSON_ARRAY || v->type == ENT_JSON_OBJECT) {
        for (int64_t i = 0; i < v->n; i++) {
            ent_jv_free(&v->items[i]);
            if (v->type == ENT_JSON_OBJECT && v->keys) free(v->keys[i]);
        }
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    v->items = NULL;
    v->keys = NULL;
    v->str = NULL;
    v->n = 0;
}

const ent_jv *ent_jv_get(const ent_jv *obj, const char *key) {
    if (!obj || !key || obj->type != ENT_JSON_OBJECT) return NULL;
    for (int64_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
    return NULL;
}
