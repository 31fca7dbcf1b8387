/* test_docs.c — the promises the docs make about the code, checked:
 *   docs_models_match_generator        docs/models.md prints the same
 *                                      PyTorch modules as the tools use;
 *   docs_algorithms_references_resolve every "algorithms.md" reference in
 *                                      the sources and docs names sections
 *                                      that docs/algorithms.md has.
 * Files are read relative to the repository root, found as the fixture
 * folder's grandparent (tests/fixtures, or $ENT_FIXTURES). */
#include <dirent.h>
#include <stdlib.h>

#include "test.h"

/* The text of repository file rel, NUL-terminated (malloc), or NULL (a
 * failed check). */
static char *read_repo_file(const char *rel) {
    char path[700];
    snprintf(path, sizeof path, "%s/../../%s", ent_test_fixture_dir(), rel);
    char *text = NULL;
    size_t len = 0;
    if (ent_read_file(path, &text, &len) != ENT_OK) {
        CHECK_MSG(0, "%s: %s", path, ent_last_error());
        return NULL;
    }
    char *z = realloc(text, len + 1);
    if (!z) free(text);
    else z[len] = '\0';
    CHECK(z != NULL);
    return z;
}

/* docs/models.md prints the PyTorch module of every preset; the tools
 * import the same code from tools/gen_fixtures.py. The script's span
 * between its "# --- models" and "# --- end models ---" lines must be
 * exactly the doc's ```python blocks that start with "class " or
 * "PRESETS", in order, joined by two blank lines. */
ENT_TEST(docs_models_match_generator) {
    char *doc = read_repo_file("docs/models.md"), *py = read_repo_file("tools/gen_fixtures.py");
    const char *begin = py ? strstr(py, "# --- models (identical copy in docs/models.md) ---\n") : NULL;
    const char *end = begin ? strstr(begin, "# --- end models ---") : NULL;
    CHECK_MSG(doc && begin && end, "docs/models.md or the models span of tools/gen_fixtures.py not found");
    if (!doc || !begin || !end) {
        free(doc), free(py);
        return;
    }
    begin = strchr(begin, '\n') + 1;
    const size_t want_len = (size_t)(end - begin);
    char *got = calloc(strlen(doc) + 1, 1);
    size_t n = 0;
    int blocks = 0;
    for (const char *p = strstr(doc, "```python\n"); got && p; p = strstr(p, "```python\n")) {
        p += strlen("```python\n");
        const char *q = strstr(p, "\n```");
        if (!q) break;
        if (strncmp(p, "class ", 6) == 0 || strncmp(p, "PRESETS", 7) == 0) {
            if (blocks++) n += (size_t)sprintf(got + n, "\n\n");
            memcpy(got + n, p, (size_t)(q + 1 - p));
            n += (size_t)(q + 1 - p);
        }
        p = q;
    }
    /* every preset has its module (some with helper classes) and its name
     * in PRESETS */
    int n_presets;
    const char *const *names = ent_model_presets(&n_presets);
    CHECK_MSG(blocks >= n_presets + 1, "docs/models.md has %d class/PRESETS blocks, want at least %d",
              blocks, n_presets + 1);
    const char *presets = got ? strstr(got, "PRESETS = {") : NULL;
    for (int i = 0; i < n_presets; i++) {
        char key[48];
        snprintf(key, sizeof key, "\"%s\": ", names[i]);
        CHECK_MSG(presets && strstr(presets, key), "PRESETS in docs/models.md lacks %s", names[i]);
    }
    size_t same = 0;
    while (got && same < n && same < want_len && got[same] == begin[same]) same++;
    CHECK_MSG(got && n == want_len && same == n,
              "docs/models.md's modules differ from tools/gen_fixtures.py's from character %zu of %zu: "
              "doc \"%.60s\" vs script \"%.60s\"",
              same, want_len, got ? got + same : "", begin + same);
    free(got);
    free(doc);
    free(py);
}

/* ---- docs/algorithms.md's sections, and the references to them ---- */

#define MAX_SECTIONS 128

typedef struct {
    char id[MAX_SECTIONS][8]; /* "3", "3.4", ... */
    int n;
} sections;

/* The numbered headings "## 3. Title", "### 3.4 Title". */
static void read_sections(const char *doc, sections *S) {
    S->n = 0;
    for (const char *p = doc; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (*p != '#') continue;
        const char *q = p;
        while (*q == '#') q++;
        if (*q++ != ' ' || *q < '0' || *q > '9') continue;
        size_t k = strspn(q, "0123456789.");
        if (k > 0 && q[k - 1] == '.') k--; /* "3." */
        if (k > 0 && k < sizeof S->id[0] && S->n < MAX_SECTIONS) {
            memcpy(S->id[S->n], q, k);
            S->id[S->n++][k] = '\0';
        }
    }
}

static int has_section(const sections *S, const char *id) {
    for (int i = 0; i < S->n; i++)
        if (strcmp(S->id[i], id) == 0) return 1;
    return 0;
}

/* Every occurrence of "algorithms.md" in text must be followed, within the
 * next 240 characters (a comment's sentence), by at least one "§N" or
 * "§N.M", and every such reference in that window must be a section.
 * Returns the number of occurrences. */
static int check_refs(const char *rel, const char *text, const sections *S) {
    int found = 0;
    for (const char *p = strstr(text, "algorithms.md"); p; p = strstr(p + 1, "algorithms.md")) {
        found++;
        const size_t room = strlen(p), w = room < 240 ? room : 240;
        int refs = 0;
        for (size_t i = 0; i + 2 < w; i++) {
            if ((unsigned char)p[i] != 0xC2 || (unsigned char)p[i + 1] != 0xA7) continue; /* § in UTF-8 */
            const char *q = p + i + 2;
            size_t k = strspn(q, "0123456789.");
            while (k > 0 && q[k - 1] == '.') k--;
            char id[8];
            if (k == 0 || k >= sizeof id) continue;
            memcpy(id, q, k);
            id[k] = '\0';
            refs++;
            CHECK_MSG(has_section(S, id), "%s: \"%.60s\" cites §%s, which docs/algorithms.md lacks", rel, p, id);
        }
        CHECK_MSG(refs > 0, "%s: \"%.60s\" names no section of docs/algorithms.md", rel, p);
    }
    return found;
}

static int is_text_source(const char *name) {
    static const char *ext[] = {".c", ".h", ".md", ".py", ".sh"};
    const size_t n = strlen(name);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        const size_t e = strlen(ext[i]);
        if (n > e && strcmp(name + n - e, ext[i]) == 0) return 1;
    }
    return 0;
}

/* Files of rel (a folder, one level of sub-folders) or rel itself. */
static int scan(const char *rel, const sections *S, int depth) {
    char path[1400];
    snprintf(path, sizeof path, "%s/../../%s", ent_test_fixture_dir(), rel);
    DIR *d = opendir(path);
    if (!d) { /* a file */
        char *text = read_repo_file(rel);
        const int n = text ? check_refs(rel, text, S) : 0;
        free(text);
        return n;
    }
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "fixtures") == 0) continue;
        char sub[600];
        snprintf(sub, sizeof sub, "%s/%s", rel, e->d_name);
        /* the page itself, and this file's own strings */
        if (strcmp(sub, "docs/algorithms.md") == 0 || strcmp(sub, "tests/test_docs.c") == 0) continue;
        snprintf(path, sizeof path, "%s/../../%s", ent_test_fixture_dir(), sub);
        DIR *dd = opendir(path);
        if (dd) {
            closedir(dd);
            if (depth > 0) n += scan(sub, S, depth - 1);
        } else if (is_text_source(e->d_name)) {
            n += scan(sub, S, 0);
        }
    }
    closedir(d);
    return n;
}

ENT_TEST(docs_algorithms_references_resolve) {
    char *doc = read_repo_file("docs/algorithms.md");
    if (!doc) return;
    sections S;
    read_sections(doc, &S);
    CHECK_MSG(S.n >= 20, "docs/algorithms.md: %d numbered sections found", S.n);
    int n = 0;
    static const char *where[] = {"src", "include", "tests", "tools", "docs", "scripts", "bench", "README.md"};
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) n += scan(where[i], &S, 1);
    CHECK_MSG(n >= 20, "only %d references to algorithms.md found: the scan missed files", n);
    printf("    %d numbered sections; %d references to algorithms.md checked\n", S.n, n);
    free(doc);
}
