/* test_brown.c — the Brown corpus conversion on a small tree in the
 * package's format, written here: documents in file-name order whatever
 * order they were made in, other files ignored, tags cut after the last
 * '/', ASCII lower case, documents 8 and 9 (of each ten) to valid and
 * test, the vocabulary cut with a tie decided by byte order, and the
 * output read back by the word and character loaders; then bad input,
 * through the library and through `entropic data brown`. */
#include <stdlib.h>
#include <string.h>

#include "test.h"

static void put_file(const char *dir, const char *name, const char *text) {
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK_MSG(f != NULL, "cannot write %s", path);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static char *slurp(const char *dir, const char *name) {
    char path[1400], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK_OK(ent_read_file(path, &text, &len));
    return text;
}

/* Documents by index in name order (made here in another order), and
 * files the conversion must not read (they are not word/tag text). */
static const char *const doc[][2] = {
    {"cr99", "\tthe/at\n"},                                  /* 10: train */
    {"ca01", "\n\n\tThe/at Dog/nn-tl\n\nthe/at CAT/nn 1/2/cd\n"}, /* 0 */
    {"ca02", "\tAnt/nn ant/nn\n"},                           /* 1 */
    {"ca03", "\t dog/nn  cat/nn ./.  \n"},                   /* 2 */
    {"cb01", "The/at-tl\n"},                                 /* 3: a line without a tab */
    {"cb02", "  \t \n\n"},                                   /* 4: no sentence */
    {"cb03", "the/at\n"},                                    /* 5 */
    {"cb04", ""},                                            /* 6: empty */
    {"cb05", "x/y"},                                         /* 7: no final newline */
    {"cc01", "\tThe/at zebra/nn Cat/nn\n"},                  /* 8: valid */
    {"cc02", "\tDOG/nn the/at\n\n\tant/nn\n"},               /* 9: test */
    {"README", "no tags here\n"},
    {"CONTENTS", "ca01 news\n"},
    {"cs01", "outside a-r\n"},
    {"ca1", "short name\n"},
    {"ca001", "long name\n"},
};

static const char *brown_tree(void) {
    static char src[600];
    snprintf(src, sizeof src, "%s/package", ent_test_tmpdir());
    ent_test_run(NULL, 0, "mkdir -p %s", src);
    for (size_t k = 0; k < sizeof doc / sizeof doc[0]; k++) put_file(src, doc[k][0], doc[k][1]);
    return src;
}

ENT_TEST(brown_to_ptb_small_tree) {
    const char *src = brown_tree();
    char tmp[600], out[700], cli[700];
    snprintf(tmp, sizeof tmp, "%s", ent_test_tmpdir());
    snprintf(out, sizeof out, "%s/out/brown-ptb", tmp);
    snprintf(cli, sizeof cli, "%s/cli", tmp);
    /* training counts (documents 0-7 and 10): the 5, ant 2, cat 2, dog 2, 1/2 1, . 1, x 1: four words keep <unk>, the, ant, cat */
    CHECK_OK(ent_brown_to_ptb(src, out, 4));
    static const char *const want[4][2] = {
        {"ptb.train.txt", "the <unk>\nthe cat <unk>\nant ant\n<unk> cat <unk>\nthe\nthe\n<unk>\nthe\n"},
        {"ptb.valid.txt", "the <unk> cat\n"},
        {"ptb.test.txt", "<unk> the\nant\n"},
        {"brown.txt", "The Dog\nthe CAT 1/2\nAnt ant\ndog cat .\nThe\nthe\nx\nThe zebra Cat\nDOG the\nant\nthe\n"},
    };
    for (int k = 0; k < 4; k++) {
        char *got = slurp(out, want[k][0]);
        CHECK_MSG(got && strcmp(got, want[k][1]) == 0, "%s:\n%s\nwant\n%s", want[k][0], got ? got : "", want[k][1]);
        free(got);
    }
    /* the loaders read what it wrote */
    ent_vocab *v = NULL;
    ent_tokens *t[3] = {NULL, NULL, NULL};
    CHECK_OK(ent_words_load_dir(out, &v, &t[0], &t[1], &t[2]));
    CHECK(v && ent_vocab_size(v) == 5 && t[0] && t[0]->n == 22 && t[1] && t[1]->n == 4 && t[2] && t[2]->n == 5);
    for (int k = 0; k < 3; k++) ent_tokens_free(t[k]);
    ent_vocab_free(v);
    char text[800];
    snprintf(text, sizeof text, "%s/brown.txt", out);
    CHECK_OK(ent_text_load(text, &v, NULL, NULL, NULL));
    ent_vocab_free(v);
    /* a larger vocabulary keeps dog too */
    CHECK_OK(ent_brown_to_ptb(src, out, 5));
    char *got = slurp(out, "ptb.test.txt");
    CHECK(got && strcmp(got, "dog the\nant\n") == 0);
    free(got);
    /* the command does the same and reports the sizes */
    char msg[4096];
    int rc = ent_test_run(msg, sizeof msg, "%s data brown --src %s --out %s --vocab 4", ent_test_cli(), src, cli);
    CHECK_MSG(rc == 0 && strstr(msg, "vocabulary 5 words; train 22, valid 4, test 5"), "rc %d: %s", rc, msg);
    got = slurp(cli, "ptb.train.txt");
    CHECK(got && strcmp(got, want[0][1]) == 0);
    free(got);
}

ENT_TEST(brown_bad_input) {
    const char *src = brown_tree();
    char out[700];
    snprintf(out, sizeof out, "%s/bad-out", ent_test_tmpdir());
    put_file(src, "cb04", "\tgood/jj\n\tword\n");
    CHECK(ent_brown_to_ptb(src, out, 4) == ENT_EFORMAT);
    CHECK_MSG(strstr(ent_last_error(), "cb04:2: token 'word' is not word/tag"), "%s", ent_last_error());
    put_file(src, "cb04", "\t/nn\n");
    CHECK(ent_brown_to_ptb(src, out, 4) == ENT_EFORMAT && strstr(ent_last_error(), "cb04:1: token '/nn'"));
    put_file(src, "cb04", "\tcaf\xe9/nn\n");
    CHECK(ent_brown_to_ptb(src, out, 4) == ENT_EFORMAT && strstr(ent_last_error(), "cb04: invalid UTF-8 at byte offset 4"));
    put_file(src, "cb04", "");
    CHECK(ent_brown_to_ptb(src, out, 1) == ENT_EINVAL);
    CHECK(ent_brown_to_ptb(out, out, 4) == ENT_ENOENT && strstr(ent_last_error(), "c[a-r][0-9][0-9]"));
    CHECK_USAGE("no --src", "--src", "%s data brown --out %s", ent_test_cli(), out);
    CHECK_USAGE("missing folder", "/nonexistent/brown: no Brown corpus files", "%s data brown --src /nonexistent/brown --out %s",
                ent_test_cli(), out);
    char msg[4096];
    const int rc = ent_test_run(msg, sizeof msg, "%s data ptb", ent_test_cli());
    CHECK_MSG(rc == 2 && strstr(msg, "usage: entropic data brown"), "rc %d: %s", rc, msg);
}
