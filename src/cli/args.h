/* args.h — a table-driven long-option parser for the sub-commands.
 * Forms: --name value, --name=value; booleans: --name, --no-name, --name=0|1. */
#ifndef ENT_ARGS_H
#define ENT_ARGS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { ARG_DOUBLE, ARG_FLOAT, ARG_INT, ARG_I64, ARG_U64, ARG_STRING, ARG_BOOL, ARG_CHOICE, ARG_LIST } ent_arg_type;

typedef struct {
    const char *name;    /* without the leading "--" */
    ent_arg_type type;
    void *dst;           /* double*, float*, int*, int64_t*, uint64_t*, char[cap], int* (bool/choice) */
    size_t cap;          /* STRING: buffer size; LIST: max entries (dst double[], count in *count) */
    const char *choices; /* CHOICE: "a|b|c" -> index; also shown in help */
    const char *help;
    int *count;          /* LIST: number of entries parsed */
    unsigned kinds;      /* the caller's tag for its help (train: bit k = optimizer kind k; 0 = every one) */
    int given;           /* set by the parser */
} ent_arg;

/* Parse argv[0..argc). Unknown options and bad values print one line to
 * stderr naming the option and return 2; positional arguments are
 * collected into pos (up to max_pos) and counted in *n_pos (error if pos
 * is NULL). Returns 0 on success. */
int ent_args_parse(ent_arg *spec, int n_spec, int argc, char **argv,
                   const char *cmd, char **pos, int max_pos, int *n_pos);
void ent_args_help(const ent_arg *spec, int n_spec);
/* The option at argv[i]: its entry in spec (NULL: unknown, or not an
 * option) and the tokens it spans (2 for "--name value", else 1), as
 * ent_args_parse reads it. */
int ent_args_option_at(const ent_arg *spec, int n_spec, int argc, char **argv, int i, const ent_arg **which);
/* The value of option `name` in argv (last occurrence), or NULL. */
const char *ent_args_peek(int argc, char **argv, const char *name);

#endif
