/* fuzz_idx_gzip.c — the IDX loader through gzip: the fuzzer's bytes are
 * the decompressed content (split as in fuzz_idx.c), compressed here, so
 * mutations reach the IDX checks behind zlib instead of dying in it; the
 * last byte, if odd, truncates the compressed stream (corrupt gzip). */
#include <zlib.h>

#include "fuzz.h"

/* gzip of src into dst (cap bytes); its length, or 0. */
static size_t gzip(const uint8_t *src, size_t n, uint8_t *dst, size_t cap) {
    z_stream z = {0};
    if (deflateInit2(&z, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
    z.next_in = (Bytef *)src, z.avail_in = (uInt)n, z.next_out = dst, z.avail_out = (uInt)cap;
    int r = deflate(&z, Z_FINISH);
    size_t len = r == Z_STREAM_END ? z.total_out : 0;
    deflateEnd(&z);
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    if (n > (1 << 16)) return 0;
    static uint8_t za[(1 << 16) + 1024], zb[(1 << 16) + 1024];
    const int cut = n > 0 && (data[n - 1] & 1);
    const uint8_t *a, *b;
    size_t na, nb;
    fuzz_split(data, n, &a, &na, &b, &nb);
    size_t ka = gzip(a, na, za, sizeof za), kb = gzip(b, nb, zb, sizeof zb);
    if (cut && kb > 4) kb -= 1 + data[0] % (kb - 1);
    char lp[64], ip[64];
    int fl = fuzz_file(za, ka, lp), fi = fuzz_file(zb, kb, ip);
    ent_dataset *d = NULL;
    if (fl >= 0 && fi >= 0 && ent_idx_load(&d, ip, lp, 0.5f, 0.5f) == ENT_OK) ent_dataset_free(d);
    if (fl >= 0) close(fl);
    if (fi >= 0) close(fi);
    return 0;
}
