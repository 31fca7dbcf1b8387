/* recorded.c — whether a run directory holds a run of this sweep's
 * settings: the command line its config.json recorded against the one the
 * sweep would give. A sweep of another budget or definition in the same
 * --out must not pass a finished run off as its own, nor resume it. */
#include <stdlib.h>
#include <string.h>

#include "entropic.h"
#include "reproduce/repro_internal.h"

/* Options that may differ: where things are, not what is computed (the
 * same data may be named by another path), and how the run is printed. */
static int free_to_differ(const char *opt) {
    static const char *const names[] = {"--out", "--data-dir", "--text", "--threads", "--quiet", "--force", NULL};
    for (int i = 0; names[i]; i++)
        if (strcmp(opt, names[i]) == 0) return 1;
    return 0;
}

/* The value of option opt in the recorded argv (its last occurrence): ""
 * for a flag, NULL when absent. */
static const char *recorded_value(const ent_jv *av, const char *opt) {
    const char *v = NULL;
    for (int64_t i = 0; i < av->n; i++) {
        if (av->items[i].type != ENT_JSON_STRING || strcmp(av->items[i].str, opt) != 0) continue;
        const ent_jv *next = i + 1 < av->n ? &av->items[i + 1] : NULL;
        v = next && next->type == ENT_JSON_STRING && strncmp(next->str, "--", 2) != 0 ? next->str : "";
    }
    return v;
}

/* The same for the planned words (past self and "train"). */
static const char *planned_value(const repro_words *w, const char *opt) {
    const char *v = NULL;
    for (int i = 2; i < w->n; i++) {
        if (strcmp(w->word[i], opt) != 0) continue;
        v = i + 1 < w->n && strncmp(w->word[i + 1], "--", 2) != 0 ? w->word[i + 1] : "";
    }
    return v;
}

/* Every recorded option is planned too (an option the definition dropped
 * counts as a difference). */
static int recorded_planned(const repro_words *w, const ent_jv *av, char *why, size_t cap) {
    for (int64_t i = 0; i < av->n; i++) {
        const char *opt = av->items[i].type == ENT_JSON_STRING ? av->items[i].str : "";
        if (strncmp(opt, "--", 2) != 0 || free_to_differ(opt) || planned_value(w, opt)) continue;
        snprintf(why, cap, "%s, which this sweep does not give", opt);
        return 0;
    }
    return 1;
}

static int compare(const repro_words *w, const ent_jv *av, char *why, size_t cap) {
    for (int i = 2; i < w->n; i++) { /* past self and "train" */
        const char *opt = w->word[i];
        if (strncmp(opt, "--", 2) != 0 || free_to_differ(opt)) continue;
        const char *want = i + 1 < w->n && strncmp(w->word[i + 1], "--", 2) != 0 ? w->word[i + 1] : "";
        const char *got = recorded_value(av, opt);
        if (got && strcmp(got, want) == 0) continue;
        snprintf(why, cap, "%s %s where this sweep gives %s %s", opt, got ? got : "(absent)", opt, want);
        return 0;
    }
    return 1;
}

int repro_same_settings(const repro_words *planned, const char *dir, char *why, size_t cap) {
    char path[700], *text = NULL;
    size_t len = 0;
    ent_jv root;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (ent_read_file(path, &text, &len) != ENT_OK) return 1; /* nothing recorded: nothing to compare */
    const int parsed = ent_jv_parse(&root, text, len) == ENT_OK;
    free(text);
    if (!parsed) {
        snprintf(why, cap, "%s is not valid JSON", path);
        return 0;
    }
    const ent_jv *av = ent_jv_get(&root, "argv");
    int same = av && av->type == ENT_JSON_ARRAY;
    if (!same) snprintf(why, cap, "%s records no command line", path);
    else same = compare(planned, av, why, cap) && recorded_planned(planned, av, why, cap);
    ent_jv_free(&root);
    return same;
}
