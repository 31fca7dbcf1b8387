/* fuzz_json.c — the JSON reader (safetensors headers, config.json on
 * --resume, network files): parse, then walk what it built and look up
 * the keys a resume reads. */
#include "fuzz.h"

static void walk(const ent_jv *v, int depth) {
    if (depth > 64) return;
    for (int64_t i = 0; (v->type == ENT_JSON_ARRAY || v->type == ENT_JSON_OBJECT) && i < v->n; i++) {
        if (v->type == ENT_JSON_OBJECT && !v->keys[i]) __builtin_trap();
        walk(&v->items[i], depth + 1);
    }
    if (v->type == ENT_JSON_STRING && !v->str) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    ent_jv v;
    if (ent_jv_parse(&v, (const char *)data, n) != ENT_OK) return 0;
    walk(&v, 0);
    if (v.type == ENT_JSON_OBJECT) {
        (void)ent_jv_get(&v, "argv");
        (void)ent_jv_get(&v, "val_indices");
        (void)ent_jv_get(&v, "optimizer");
    }
    ent_jv_free(&v);
    return 0;
}
