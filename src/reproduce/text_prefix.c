/* text_prefix.c — the text file of a text experiment. The short budget
 * trains on the first e->text_prefix bytes of the corpus, cut at a line
 * end (never inside a UTF-8 character), written once to
 * OUT/NAME/data/first-N-BASE (by rank 0 under mpirun) and read by every
 * run and analysis. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "entropic.h"
#include "reproduce/repro_internal.h"

static int is_text(const repro_exp *e) { return strstr(e->common, "--dataset text") != NULL; }

/* The first n bytes of src up to its last newline, saved atomically. */
static int write_prefix(const char *src, long n, const char *dst) {
    char *text = NULL;
    size_t len = 0;
    ent_status s = ent_read_file(src, &text, &len);
    if (s != ENT_OK) {
        fprintf(stderr, "entropic reproduce: %s\n", ent_last_error());
        return 2;
    }
    size_t cut = len < (size_t)n ? len : (size_t)n;
    while (cut > 0 && text[cut - 1] != '\n') cut--;
    if (cut == 0) cut = len < (size_t)n ? len : (size_t)n;
    s = ent_write_file_atomic(dst, text, cut);
    free(text);
    if (s != ENT_OK) fprintf(stderr, "entropic reproduce: %s\n", ent_last_error());
    return s == ENT_OK ? 0 : 2;
}

/* Under mpirun rank 0 writes the prefix, the others wait until its
 * rename makes it appear (whole): up to ten minutes. */
static int wait_for(const char *path) {
    for (int i = 0; i < 600; i++, sleep(1))
        if (access(path, F_OK) == 0) return 0;
    fprintf(stderr, "entropic reproduce: rank 0 did not write %s in 10 minutes\n", path);
    return 2;
}

int repro_text_file(const repro_opts *o, char *path, size_t cap) {
    path[0] = 0;
    if (!is_text(o->e)) return 0;
    char src[600];
    snprintf(src, sizeof src, "%s", o->text[0] ? o->text : ENT_TEXT_DEFAULT_DIR "/brown.txt");
    if (o->budget == REPRO_PAPER || o->e->text_prefix <= 0) {
        snprintf(path, cap, "%s", src);
        return 0;
    }
    const char *base = strrchr(src, '/');
    char dir[600];
    snprintf(dir, sizeof dir, "%s/data", o->out);
    snprintf(path, cap, "%s/first-%ld-%s", dir, o->e->text_prefix, base ? base + 1 : src);
    FILE *f = fopen(path, "rb");
    if (f) return fclose(f), 0;
    if (o->dry_run) return 0;
    if (o->rank != 0) return wait_for(path);
    if (repro_make_dirs(dir) != 0) {
        fprintf(stderr, "entropic reproduce: cannot create %s: %s\n", dir, strerror(errno));
        return 2;
    }
    return write_prefix(src, o->e->text_prefix, path);
}
