/* corpus.c — the token data sets by name, as the image ones are by
 * ent_data_load: "text" reads the characters of one file, "ptb" the three
 * word files of a folder. */
#include <string.h>

#include "entropic.h"

ent_status ent_corpus_load(ent_corpus *out, const ent_data_source *src) {
    memset(out, 0, sizeof *out);
    ent_status s;
    if (strcmp(src->name, "text") == 0) {
        s = ent_text_load(src->text, &out->vocab, &out->train, &out->valid, &out->test);
    } else if (strcmp(src->name, "ptb") == 0) {
        s = ent_words_load_dir(src->dir[0] ? src->dir : NULL, &out->vocab, &out->train, &out->valid, &out->test);
    } else {
        return ent_fail(ENT_EUSAGE, "dataset '%s' is not a token data set (text, ptb)", src->name);
    }
    if (s != ENT_OK) ent_corpus_free(out);
    return s;
}

void ent_corpus_free(ent_corpus *c) {
    ent_vocab_free(c->vocab);
    ent_tokens_free(c->train);
    ent_tokens_free(c->valid);
    ent_tokens_free(c->test);
    memset(c, 0, sizeof *c);
}
