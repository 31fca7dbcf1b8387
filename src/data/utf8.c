/* utf8.c — strict UTF-8 (RFC 3629): the shortest form only, no surrogates,
 * nothing above U+10FFFF. Text files are checked whole before they are
 * split into tokens, so an error names the first bad byte's offset. */
#include "data/text_internal.h"

static int cont(unsigned char c) { return (c & 0xC0) == 0x80; }

int ent_utf8_next(const unsigned char *s, size_t n, uint32_t *cp) {
    if (n == 0) return 0;
    const unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    /* the lead byte fixes the length and the allowed range of the second byte */
    int len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else return 0;
    if (n < (size_t)len || s[1] < lo || s[1] > hi) return 0;
    for (int i = 2; i < len; i++)
        if (!cont(s[i])) return 0;
    uint32_t v = c & (0x7F >> len);
    for (int i = 1; i < len; i++) v = v << 6 | (s[i] & 0x3F);
    *cp = v;
    return len;
}

size_t ent_utf8_check(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (u[i] >= 0x01 && u[i] < 0x80) { /* the common case */
            i++;
            continue;
        }
        uint32_t cp;
        const int k = u[i] ? ent_utf8_next(u + i, n - i, &cp) : 0;
        if (!k) return i;
        i += (size_t)k;
    }
    return n;
}

ent_status ent_utf8_require(const char *s, size_t n, const char *path) {
    const size_t bad = ent_utf8_check(s, n);
    if (bad == n) return ENT_OK;
    int64_t line = 1;
    for (size_t i = 0; i < bad; i++) line += s[i] == '\n';
    if (s[bad] == 0)
        return ent_fail(ENT_EFORMAT, "%s: NUL byte at byte offset %zu (line %lld): not text", path, bad,
                        (long long)line);
    return ent_fail(ENT_EFORMAT, "%s: invalid UTF-8 at byte offset %zu (line %lld, byte 0x%02x)", path, bad,
                    (long long)line, (unsigned)(unsigned char)s[bad]);
}
