/* test_kill.c — kill -9 anywhere. build/entropic-faults stops a small run
 * with SIGKILL at a named point (tests/fault/faults.c: inside each atomic
 * file write, after each update); the run is then resumed (or, killed
 * before its first checkpoint, started again, as the error says) until it
 * finishes. At every stop the run directory must hold a loadable
 * checkpoint (if any) and a config.json that parses; at the end the
 * checkpoint's tensors (weights, buffers, optimizer and replica state)
 * equal an uninterrupted run's bit for bit, metrics.csv has the same rows
 * but for the wall-clock column, and no .tmp file is left. For SGD with
 * momentum, Entropy-SGD and replicated SGD. bench/kill.sh runs every
 * point. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

static char out[65536];

static char *slurp(const char *path) {
    char *t = NULL;
    size_t n = 0;
    return ent_read_file(path, &t, &n) == ENT_OK ? t : NULL;
}

/* Every tensor of a and b, bit for bit. */
static int same_tensors(const char *a, const char *b, char *why, size_t cap) {
    ent_st_file *fa = NULL, *fb = NULL;
    int same = ent_safetensors_read(&fa, a) == ENT_OK && ent_safetensors_read(&fb, b) == ENT_OK &&
               ent_st_count(fa) == ent_st_count(fb);
    snprintf(why, cap, "%s", same ? "" : "unreadable, or not the same tensors");
    for (int i = 0; same && i < ent_st_count(fa); i++) {
        const char *name = ent_st_name(fa, i);
        int nd;
        int64_t sh[4], n = 1;
        same = ent_st_find(fb, name, &nd, sh);
        for (int d = 0; same && d < nd; d++) n *= sh[d];
        float *x = malloc(4 * (size_t)(n + 1)), *y = malloc(4 * (size_t)(n + 1));
        same = same && ent_st_get(fa, name, x, n) == ENT_OK && ent_st_get(fb, name, y, n) == ENT_OK &&
               memcmp(x, y, 4 * (size_t)n) == 0;
        if (!same) snprintf(why, cap, "tensor '%s' differs", name);
        free(x), free(y);
    }
    ent_st_file_free(fa), ent_st_file_free(fb);
    return same;
}

/* metrics.csv without its wall_seconds column (the 7th). */
static void strip_wall(char *csv) {
    char *w = csv;
    for (char *line = csv; *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
        int field = 1;
        for (size_t i = 0; i < len; i++) {
            if (line[i] == ',') field++;
            if (field != 7 || line[i] == ',') *w++ = line[i];
        }
        line += len;
    }
    *w = 0;
}

/* What must hold whenever the run was stopped. */
static void check_stopped(const char *dir, const char *label) {
    char p[700];
    snprintf(p, sizeof p, "%s/checkpoint.safetensors", dir);
    ent_st_file *f = NULL;
    if (access(p, F_OK) == 0) CHECK_MSG(ent_safetensors_read(&f, p) == ENT_OK, "%s: %s", label, ent_last_error());
    ent_st_file_free(f);
    snprintf(p, sizeof p, "%s/config.json", dir);
    char *t = slurp(p);
    ent_jv v;
    if (t) {
        CHECK_MSG(ent_jv_parse(&v, t, strlen(t)) == ENT_OK, "%s: config.json: %s", label, ent_last_error());
        ent_jv_free(&v);
    }
    free(t);
}

/* Kill the run of `args` at `point`, then resume until it is done; the
 * result must be the reference's. */
static void kill_and_resume(const char *args, const char *ref, const char *dir, const char *point) {
    char faults[700], label[256];
    snprintf(faults, sizeof faults, "%s-faults", ent_test_cli());
    snprintf(label, sizeof label, "killed at %s", point);
    int rc = ent_test_run(out, sizeof out, "rm -rf %s; ENT_KILL_AT=%s %s train %s --out %s", dir, point, faults, args, dir);
    if (rc != 137 && rc != 128 + 9) {
        CHECK_MSG(0, "%s: the run was not killed (exit %d): %s", label, rc, out);
        return;
    }
    check_stopped(dir, label);
    for (int tries = 0; tries < 3; tries++) {
        rc = ent_test_run(out, sizeof out, "%s train --resume %s", ent_test_cli(), dir);
        if (rc == 2 && strstr(out, "start it again"))
            rc = ent_test_run(out, sizeof out, "%s train %s --force --out %s", ent_test_cli(), args, dir);
        if (rc == 0) break;
    }
    CHECK_MSG(rc == 0, "%s: resume: exit %d: %s", label, rc, out);
    char a[700], b[700], why[200];
    snprintf(a, sizeof a, "%s/checkpoint.safetensors", ref);
    snprintf(b, sizeof b, "%s/checkpoint.safetensors", dir);
    CHECK_MSG(same_tensors(a, b, why, sizeof why), "%s: the final checkpoint is not the uninterrupted run's: %s", label,
              why);
    snprintf(a, sizeof a, "%s/metrics.csv", ref);
    snprintf(b, sizeof b, "%s/metrics.csv", dir);
    char *ma = slurp(a), *mb = slurp(b);
    if (ma && mb) strip_wall(ma), strip_wall(mb);
    CHECK_MSG(ma && mb && strcmp(ma, mb) == 0, "%s: metrics.csv differs:\n%s\nvs the uninterrupted\n%s", label,
              mb ? mb : "(none)", ma ? ma : "(none)");
    free(ma), free(mb);
    rc = ent_test_run(out, sizeof out, "ls %s | grep -c '\\.tmp$'", dir);
    CHECK_MSG(atoi(out) == 0, "%s: .tmp files left in %s", label, dir);
}

/* An uninterrupted run in ref, then one killed at each of points. */
static void kill_points(const char *name, const char *args, const char *const *points, int n) {
    const char *t = ent_test_tmpdir();
    char ref[600], dir[600];
    snprintf(ref, sizeof ref, "%s/%s-ref", t, name);
    int rc = ent_test_run(out, sizeof out, "%s train %s --out %s", ent_test_cli(), args, ref);
    CHECK_MSG(rc == 0, "%s: the uninterrupted run: %s", name, out);
    for (int i = 0; rc == 0 && i < n; i++) {
        snprintf(dir, sizeof dir, "%s/%s-%d", t, name, i);
        kill_and_resume(args, ref, dir, points[i]);
    }
    printf("    %s: killed at %d points, each resumed to the uninterrupted run's bits\n", name, n);
}

/* Atomic writes of a run: config.json (1), metrics.csv's header (2), then
 * a checkpoint per evaluation (3, 4, ...), summary.json last. */
ENT_TEST(kill9_sgd) {
    const char *t = ent_test_tmpdir();
    char args[1024];
    snprintf(args, sizeof args, "--model tiny-mnistfc --dataset mnist --data-dir %s --epochs 3 --eval-every 0.5 "
             "--batch-size 25 --optimizer sgd --lr 0.05 --momentum 0.9 --threads 1 --quiet", ent_test_mnist_like(t, 100));
    static const char *const points[] = {"write:half:1", "write:open:3", "write:half:3", "write:written:4",
                                         "write:renamed:4", "write:half:6", "step:5", "step:11"};
    if (!getenv("ENT_KILL_SWEEP")) {
        kill_points("sgd", args, points, (int)(sizeof points / sizeof *points));
        return;
    }
    /* bench/kill.sh: every point of the run. 9 atomic writes (config.json,
     * metrics.csv, 6 checkpoints, summary.json) x 4 points, 12 updates. */
    static char names[48][32];
    const char *all[48];
    int n = 0;
    static const char *const in_write[] = {"open", "half", "written", "renamed"};
    for (int w = 1; w <= 9; w++)
        for (int k = 0; k < 4; k++) snprintf(names[n], sizeof names[n], "write:%s:%d", in_write[k], w), all[n] = names[n], n++;
    for (int s = 1; s <= 12; s++) snprintf(names[n], sizeof names[n], "step:%d", s), all[n] = names[n], n++;
    kill_points("sgd-sweep", args, all, n);
}

ENT_TEST(kill9_esgd_and_replicas) {
    char d[600], args[1024];
    snprintf(d, sizeof d, "%s", ent_test_mnist_like(ent_test_tmpdir(), 100)); /* the next tmpdir reuses the buffer */
    snprintf(args, sizeof args, "--model tiny-mnistfc --dataset mnist --data-dir %s --epochs 4 --eval-every 1 "
             "--batch-size 25 --optimizer entropy-sgd --L 2 --threads 1 --quiet", d);
    static const char *const esgd[] = {"write:half:4", "write:renamed:3", "step:3"};
    kill_points("esgd", args, esgd, 3);
    snprintf(args, sizeof args, "--model tiny-mnistfc --dataset mnist --data-dir %s --epochs 2 --eval-every 1 "
             "--batch-size 25 --optimizer replicated-sgd --replicas 2 --L 2 --threads 1 --quiet", d);
    static const char *const rep[] = {"write:half:3", "write:written:4", "step:3"};
    kill_points("replicated", args, rep, 3);
}

/* MPI: one rank of a data-parallel job killed (rank 1 after an update,
 * rank 0 inside a checkpoint write) ends the whole job within 60 s, with
 * Open MPI's message; the last checkpoint loads, and a resumed 2-rank run
 * ends with the bits of an uninterrupted one. */
ENT_TEST(kill9_mpi_rank) {
    if (!ent_test_have_mpi()) return;
    char d[600], args[1024], ref[700], dir[700], ck[800], a[800], why[200];
    snprintf(d, sizeof d, "%s", ent_test_mnist_like(ent_test_tmpdir(), 100));
    snprintf(args, sizeof args, "--model tiny-mnistfc --dataset mnist --data-dir %s --epochs 4 --eval-every 1 "
             "--batch-size 25 --optimizer sgd --lr 0.05 --momentum 0.9 --threads 1 --quiet", d);
    snprintf(ref, sizeof ref, "%s/ref", d);
    int rc = ent_test_run(out, sizeof out, "timeout 120 " MPIRUN " -np 2 %s train %s --out %s", ent_test_cli(), args, ref);
    CHECK_MSG(rc == 0, "the uninterrupted 2-rank run: %s", out);
    snprintf(a, sizeof a, "%s/checkpoint.safetensors", ref);
    static const struct { const char *rank, *point; } cases[] = {{"1", "step:3"}, {"0", "write:half:4"}};
    for (int i = 0; rc == 0 && i < 2; i++) {
        snprintf(dir, sizeof dir, "%s/k%d", d, i);
        snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", dir);
        double t0 = ent_time_seconds();
        rc = ent_test_run(out, sizeof out, "ENT_KILL_RANK=%s ENT_KILL_AT=%s timeout 60 " MPIRUN " -np 2 -x ENT_KILL_RANK "
                          "-x ENT_KILL_AT %s-faults train %s --out %s", cases[i].rank, cases[i].point, ent_test_cli(),
                          args, dir);
        const double took = ent_time_seconds() - t0;
        CHECK_MSG(rc != 0 && rc != 124 && strstr(out, "signal 9"), "rank %s killed at %s: exit %d after %.0f s: %s",
                  cases[i].rank, cases[i].point, rc, took, out);
        ent_st_file *f = NULL;
        CHECK_MSG(ent_safetensors_read(&f, ck) == ENT_OK, "rank %s killed at %s: %s", cases[i].rank, cases[i].point,
                  ent_last_error());
        ent_st_file_free(f);
        rc = ent_test_run(out, sizeof out, "timeout 120 " MPIRUN " -np 2 %s train --resume %s", ent_test_cli(), dir);
        CHECK_MSG(rc == 0, "resume after rank %s was killed: %s", cases[i].rank, out);
        CHECK_MSG(same_tensors(a, ck, why, sizeof why), "rank %s killed at %s, resumed: %s", cases[i].rank,
                  cases[i].point, why);
        printf("    rank %s killed at %s: the job ended in %.1f s; resumed to the uninterrupted run's bits\n",
               cases[i].rank, cases[i].point, took);
    }
}
