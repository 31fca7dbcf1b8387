/* args.c — see args.h. Numbers are parsed strictly: the whole value must
 * be a finite number, or the option is reported as a usage error. */
#include "cli/args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(const char *cmd, const char *name, const char *val, const char *why) {
    fprintf(stderr, "entropic %s: --%s %s: %s\n", cmd, name, val ? val : "", why);
    return 2;
}

static int parse_double(const char *s, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

static int parse_i64(const char *s, int64_t *out) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno == ERANGE) return 0;
    *out = v;
    return 1;
}

static int choice_index(const char *choices, const char *val) {
    size_t n = strlen(val);
    int idx = 0;
    for (const char *p = choices; *p; idx++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, val, n) == 0) return idx;
        if (!bar) break;
        p = bar + 1;
    }
    return -1;
}

static int set_value(ent_arg *a, const char *val, const char *cmd) {
    double d;
    int64_t i;
    switch (a->type) {
    case ARG_DOUBLE:
    case ARG_FLOAT:
        if (!parse_double(val, &d)) return bad(cmd, a->name, val, "not a finite number");
        if (a->type == ARG_DOUBLE) *(double *)a->dst = d;
        else *(float *)a->dst = (float)d;
        return 0;
    case ARG_INT:
    case ARG_I64:
    case ARG_U64:
        if (!parse_i64(val, &i)) return bad(cmd, a->name, val, "not an integer");
        if (a->type == ARG_INT) {
            if (i < -2147483647LL || i > 2147483647LL) return bad(cmd, a->name, val, "out of range");
            *(int *)a->dst = (int)i;
        } else if (a->type == ARG_I64) {
            *(int64_t *)a->dst = i;
        } else {
            if (i < 0) return bad(cmd, a->name, val, "must be >= 0");
            *(uint64_t *)a->dst = (uint64_t)i;
        }
        return 0;
    case ARG_STRING:
        if (strlen(val) >= a->cap) return bad(cmd, a->name, val, "too long");
        memcpy(a->dst, val, strlen(val) + 1);
        return 0;
    case ARG_BOOL:
        if (strcmp(val, "1") == 0 || strcmp(val, "true") == 0) *(int *)a->dst = 1;
        else if (strcmp(val, "0") == 0 || strcmp(val, "false") == 0) *(int *)a->dst = 0;
        else return bad(cmd, a->name, val, "want 0 or 1");
        return 0;
    case ARG_CHOICE: {
        int k = choice_index(a->choices, val);
        if (k < 0) {
            char why[160];
            snprintf(why, sizeof why, "want one of %s", a->choices);
            return bad(cmd, a->name, val, why);
        }
        *(int *)a->dst = k;
        return 0;
    }
    case ARG_LIST: {
        double *out = a->dst;
        int n = 0;
        char buf[512];
        if (strlen(val) >= sizeof buf) return bad(cmd, a->name, val, "too long");
        strcpy(buf, val);
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
            if ((size_t)n >= a->cap) return bad(cmd, a->name, val, "too many values");
            if (!parse_double(tok, &out[n])) return bad(cmd, a->name, val, "want comma-separated numbers");
            n++;
        }
        *a->count = n;
        return 0;
    }
    }
    return 2;
}

static void choice_name(const char *choices, int k, char *out, size_t cap) {
    const char *p = choices;
    for (int i = 0; i < k && p; i++) {
        p = strchr(p, '|');
        if (p) p++;
    }
    if (!p) return;
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len >= cap) len = cap - 1;
    memcpy(out, p, len);
    out[len] = 0;
}

static ent_arg *find(ent_arg *spec, int n, const char *name, size_t len) {
    for (int i = 0; i < n; i++)
        if (strlen(spec[i].name) == len && strncmp(spec[i].name, name, len) == 0) return &spec[i];
    return NULL;
}

int ent_args_parse(ent_arg *spec, int n_spec, int argc, char **argv,
                   const char *cmd, char **pos, int max_pos, int *n_pos) {
    if (n_pos) *n_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || arg[2] == 0) {
            if (!pos || !n_pos || *n_pos >= max_pos) {
                fprintf(stderr, "entropic %s: unexpected argument '%s' (see --help)\n", cmd, arg);
                return 2;
            }
            pos[(*n_pos)++] = argv[i];
            continue;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        ent_arg *a = find(spec, n_spec, name, len);
        const char *val = eq ? eq + 1 : NULL;
        if (!a && len > 3 && strncmp(name, "no-", 3) == 0) {
            a = find(spec, n_spec, name + 3, len - 3);
            if (a && a->type == ARG_BOOL && !eq) {
                *(int *)a->dst = 0;
                a->given = 1;
                continue;
            }
            a = NULL;
        }
        if (!a) {
            fprintf(stderr, "entropic %s: unknown option '--%.*s' (see --help)\n", cmd, (int)len, name);
            return 2;
        }
        if (!val && a->type == ARG_BOOL) {
            *(int *)a->dst = 1;
            a->given = 1;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc) return bad(cmd, a->name, NULL, "needs a value");
            val = argv[++i];
        }
        if (set_value(a, val, cmd) != 0) return 2;
        a->given = 1;
    }
    return 0;
}

void ent_args_help(const ent_arg *spec, int n_spec) {
    for (int i = 0; i < n_spec; i++) {
        const ent_arg *a = &spec[i];
        char left[64];
        const char *meta = a->type == ARG_BOOL ? "" : a->type == ARG_CHOICE ? a->choices
                         : a->type == ARG_STRING ? " S" : a->type == ARG_LIST ? " A,B,.." : " X";
        snprintf(left, sizeof left, "--%s%s%s", a->name, a->type == ARG_CHOICE ? " " : "", meta);
        char def[80] = "";
        switch (a->type) {
        case ARG_DOUBLE: snprintf(def, sizeof def, "%g", *(double *)a->dst); break;
        case ARG_FLOAT: snprintf(def, sizeof def, "%g", *(float *)a->dst); break;
        case ARG_INT: snprintf(def, sizeof def, "%d", *(int *)a->dst); break;
        case ARG_I64: snprintf(def, sizeof def, "%lld", (long long)*(int64_t *)a->dst); break;
        case ARG_U64: snprintf(def, sizeof def, "%llu", (unsigned long long)*(uint64_t *)a->dst); break;
        case ARG_STRING: snprintf(def, sizeof def, "%s", (const char *)a->dst); break;
        case ARG_BOOL: snprintf(def, sizeof def, "%s", *(int *)a->dst ? "on" : "off"); break;
        case ARG_CHOICE: choice_name(a->choices, *(int *)a->dst, def, sizeof def); break;
        case ARG_LIST: break;
        }
        printf("  %-30s %s%s%s%s\n", left, a->help, def[0] ? " [" : "", def, def[0] ? "]" : "");
    }
}

const char *ent_args_peek(int argc, char **argv, const char *name) {
    const char *found = NULL;
    size_t len = strlen(name);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, len) != 0) continue;
        if (a[2 + len] == '=') found = a + 3 + len;
        else if (a[2 + len] == 0 && i + 1 < argc) found = argv[i + 1];
    }
    return found;
}

int ent_args_option_at(const ent_arg *spec, int n_spec, int argc, char **argv, int i, const ent_arg **which) {
    *which = NULL;
    const char *arg = argv[i];
    if (strncmp(arg, "--", 2) != 0 || arg[2] == 0) return 1;
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const ent_arg *a = find((ent_arg *)spec, n_spec, name, len);
    if (!a && !eq && len > 3 && strncmp(name, "no-", 3) == 0) {
        a = find((ent_arg *)spec, n_spec, name + 3, len - 3);
        if (a && a->type != ARG_BOOL) a = NULL;
        *which = a;
        return 1;
    }
    *which = a;
    return a && !eq && a->type != ARG_BOOL && i + 1 < argc ? 2 : 1;
}
