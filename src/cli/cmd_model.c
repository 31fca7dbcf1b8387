/* cmd_model.c — `entropic model show|summary NAME|FILE`: a network as its
 * description (the JSON a --model-file takes; for a preset, the network
 * the preset builds) or as a table of its nodes with output shapes and
 * parameter counts (like torchinfo), and the workspace the model plans. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"

static int parse_shape(const char *s, int64_t *c, int64_t *h, int64_t *w) {
    long long a, b, d;
    char end;
    if (sscanf(s, "%lldx%lldx%lld%c", &a, &b, &d, &end) != 3 || a < 1 || b < 1 || d < 1) return 0;
    *c = a, *h = b, *w = d;
    return 1;
}

static void shape_text(char *buf, size_t cap, int64_t c, int64_t h, int64_t w) {
    snprintf(buf, cap, "[%lld, %lld, %lld]", (long long)c, (long long)h, (long long)w);
}

/* Node i's inputs, named, into buf. */
static void inputs_text(const ent_model *m, const ent_node_info *f, char *buf, size_t cap) {
    buf[0] = 0;
    for (int j = 0; j < f->n_in; j++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", j ? ", " : "",
                 f->in[j] == ENT_NET_INPUT ? "input" : ent_model_node(m, f->in[j]).name);
}

static void print_summary(const ent_model *m, int64_t batch) {
    const int n = ent_model_n_nodes(m);
    int wn = 4, wi = 6; /* columns as wide as the longest name and input list */
    char in[160], out[48];
    for (int i = 0; i < n; i++) {
        const ent_node_info f = ent_model_node(m, i);
        inputs_text(m, &f, in, sizeof in);
        if ((int)strlen(f.name) > wn) wn = (int)strlen(f.name);
        if ((int)strlen(in) > wi) wi = (int)strlen(in);
    }
    printf("%-4s %-*s %-15s %-*s %-18s %12s\n", "#", wn, "node", "kind", wi, "inputs", "output", "params");
    for (int i = 0; i < n; i++) {
        const ent_node_info f = ent_model_node(m, i);
        inputs_text(m, &f, in, sizeof in);
        shape_text(out, sizeof out, f.out_c, f.out_h, f.out_w);
        printf("%-4d %-*s %-15s %-*s %-18s %12lld\n", i, wn, f.name, f.kind, wi, in, out, (long long)f.n_param);
    }
    printf("\ntrainable parameters %lld, buffers %lld\n", (long long)ent_model_n_param(m),
           (long long)ent_model_n_buffer(m));
    printf("workspace at batch %lld: training %.1f MiB, evaluation %.1f MiB\n", (long long)batch,
           (double)ent_model_workspace_bytes(m, 1) / 1048576.0,
           (double)ent_model_workspace_bytes(m, 0) / 1048576.0);
}

int ent_cmd_model(int argc, char **argv) {
    char input[64] = ""; /* "": the preset's input (T x 1 x 1 for a sequence model), else 1x28x28 */
    int64_t classes = 10, batch = 128;
    int help = 0;
    ent_arg spec[] = {
        {.name = "input", .type = ARG_STRING, .dst = input, .cap = sizeof input, .help = "input shape per sample, CxHxW [a preset's own, else 1x28x28]"},
        {.name = "classes", .type = ARG_I64, .dst = &classes, .help = "number of classes [10]"},
        {.name = "batch", .type = ARG_I64, .dst = &batch, .help = "batch the workspace is planned for [128]"},
        {.name = "help", .type = ARG_BOOL, .dst = &help, .help = "this help"},
    };
    const int n = (int)(sizeof spec / sizeof spec[0]);
    char *pos[2];
    int n_pos = 0;
    if (ent_args_parse(spec, n, argc, argv, "model", pos, 2, &n_pos) != 0) return 2;
    if (help || n_pos != 2 || (strcmp(pos[0], "show") && strcmp(pos[0], "summary"))) {
        printf("usage: entropic model show|summary NAME|FILE [--input CxHxW] [--classes K] [--batch B]\n\n"
               "show: the network as a network file (JSON; what --model-file takes).\n"
               "summary: every node with its inputs, output shape and parameters, and the\n"
               "workspace of training and of evaluation.\n\n");
        ent_args_help(spec, n);
        return help ? 0 : 2;
    }
    int64_t c = 1, h = 28, w = 28;
    if (!input[0] && ent_model_preset_input(pos[1], &c, &h, &w) != ENT_OK) c = 1, h = 28, w = 28;
    if (input[0] && !parse_shape(input, &c, &h, &w)) {
        fprintf(stderr, "entropic model: --input must be CxHxW, like 3x32x32 (got '%s')\n", input);
        return 2;
    }
    ent_net *net = NULL;
    ent_model *m = NULL;
    ent_status s = ent_net_named(&net, pos[1], NULL, classes);
    if (s == ENT_OK && strcmp(pos[0], "show") == 0) {
        ent_json j;
        ent_json_init(&j);
        ent_net_write_json(net, &j);
        printf("%.*s\n", (int)j.len, j.buf);
        ent_json_free(&j);
    } else if (s == ENT_OK) {
        s = ent_model_new_net(&m, net, c, h, w, classes, batch);
        if (s == ENT_OK) print_summary(m, batch);
    }
    ent_model_free(m);
    ent_net_free(net);
    return s == ENT_OK ? 0 : ent_cli_status(s, "model");
}
