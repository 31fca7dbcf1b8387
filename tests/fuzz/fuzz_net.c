/* fuzz_net.c — network files (docs/models.md): parsed, written back as
 * JSON, and the written text parsed again (it must be). */
#include <stdlib.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    ent_net *net = NULL;
    if (ent_net_parse(&net, (const char *)data, n, "fuzz.json") != ENT_OK) return 0;
    ent_json j;
    ent_json_init(&j);
    ent_net_write_json(net, &j);
    ent_net *again = NULL;
    if (!j.failed && ent_net_parse(&again, j.buf, j.len, "written.json") != ENT_OK) {
        fprintf(stderr, "a written network does not parse: %s\n%s\n", ent_last_error(), j.buf);
        abort();
    }
    ent_net_free(again);
    ent_json_free(&j);
    ent_net_free(net);
    return 0;
}
