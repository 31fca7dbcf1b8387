/* fuzz_safetensors.c — the safetensors reader: the 8-byte length, the
 * header JSON, the tensor table and its layout, then every tensor read
 * back and every metadata value looked up. */
#include <stdlib.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    char path[64];
    int fd = fuzz_file(data, n, path);
    if (fd < 0) return 0;
    ent_st_file *f = NULL;
    if (ent_safetensors_read(&f, path) == ENT_OK) {
        for (int i = 0; i < ent_st_count(f); i++) {
            const char *name = ent_st_name(f, i);
            int ndim;
            int64_t shape[4];
            if (!ent_st_find(f, name, &ndim, shape)) abort(); /* every listed tensor is found */
            int64_t numel = 1;
            for (int d = 0; d < ndim; d++) numel *= shape[d];
            if (numel > (1 << 20)) continue;
            float *v = malloc(sizeof(float) * (size_t)(numel + 1));
            if (v && ent_st_get(f, name, v, numel) == ENT_ESHAPE) abort(); /* the shape's size is the tensor's */
            free(v);
        }
        (void)ent_st_meta(f, "format");
        (void)ent_st_meta(f, "entropic.network");
    }
    ent_st_file_free(f);
    close(fd);
    return 0;
}
