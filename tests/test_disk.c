/* test_disk.c — full and read-only file systems. The run directory is a
 * small tmpfs the test mounts (as root; skipped with a message where it
 * cannot). A run that fills it, or finds it read-only, ends with exit 2
 * and one line naming the file and the errno's text; the checkpoint it
 * had is intact, and once there is room (or write access) again --resume
 * finishes the run with the bits of an uninterrupted one. The same for
 * hessian's outputs. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

static char out[65536];

/* A tmpfs of `size` at mnt; 0 (and why, printed) where it cannot be had. */
static int mount_small(const char *mnt, const char *size) {
    if (geteuid() != 0) {
        printf("    skip: mounting a small tmpfs needs root\n");
        return 0;
    }
    mkdir(mnt, 0755);
    if (ent_test_run(out, sizeof out, "mount -t tmpfs -o size=%s tmpfs %s", size, mnt) != 0) {
        printf("    skip: cannot mount a tmpfs here: %s\n", out);
        return 0;
    }
    return 1;
}

static uint64_t ckpt_step(const char *path) {
    ent_st_file *f = NULL;
    uint64_t v = 0;
    if (ent_safetensors_read(&f, path) == ENT_OK && ent_st_meta(f, "run.step")) v = strtoull(ent_st_meta(f, "run.step"), NULL, 10);
    ent_st_file_free(f);
    return v;
}

static int same_bytes_of_tensors(const char *a, const char *b) {
    ent_st_file *fa = NULL, *fb = NULL;
    int same = ent_safetensors_read(&fa, a) == ENT_OK && ent_safetensors_read(&fb, b) == ENT_OK &&
               ent_st_count(fa) == ent_st_count(fb);
    for (int i = 0; same && i < ent_st_count(fa); i++) {
        int nd;
        int64_t sh[4], n = 1;
        same = ent_st_find(fb, ent_st_name(fa, i), &nd, sh);
        for (int d = 0; same && d < nd; d++) n *= sh[d];
        float *x = malloc(4 * (size_t)(n + 1)), *y = malloc(4 * (size_t)(n + 1));
        same = same && ent_st_get(fa, ent_st_name(fa, i), x, n) == ENT_OK &&
               ent_st_get(fb, ent_st_name(fa, i), y, n) == ENT_OK && memcmp(x, y, 4 * (size_t)n) == 0;
        free(x), free(y);
    }
    ent_st_file_free(fa), ent_st_file_free(fb);
    return same;
}

/* The checkpoint of tiny-mnistfc with momentum is about 52 KB; writing
 * the next beside it needs twice that: 100 KB hold one, not two. */
ENT_TEST(disk_full_and_read_only) {
    const char *t = ent_test_tmpdir(), *cli = ent_test_cli();
    char d[600], mnt[600], run[700], ck[800], ref[700], args[1024];
    snprintf(d, sizeof d, "%s", ent_test_mnist_like(t, 100));
    snprintf(mnt, sizeof mnt, "%s/mnt", t);
    snprintf(run, sizeof run, "%s/r", mnt);
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", run);
    snprintf(ref, sizeof ref, "%s/ref", t);
    snprintf(args, sizeof args, "--model tiny-mnistfc --dataset mnist --data-dir %s --epochs 2 --eval-every 0.5 "
             "--batch-size 25 --optimizer sgd --lr 0.05 --momentum 0.9 --threads 1 --quiet", d);
    int rc = ent_test_run(out, sizeof out, "%s train %s --out %s", cli, args, ref);
    CHECK_MSG(rc == 0, "the uninterrupted run: %s", out);
    if (!mount_small(mnt, "100k")) return;

    /* full: the second checkpoint does not fit beside the first */
    rc = ent_test_run(out, sizeof out, "%s train %s --out %s", cli, args, run);
    CHECK_MSG(rc == 2 && strstr(out, "checkpoint.safetensors") && strstr(out, "No space left on device") &&
              ent_test_count_lines(out) == 1, "disk full: exit %d (want 2 naming the file and ENOSPC): %s", rc, out);
    printf("    full: %s", out);
    CHECK_MSG(ckpt_step(ck) == 2, "the checkpoint of step 2 is not intact (step %llu)", (unsigned long long)ckpt_step(ck));
    rc = ent_test_run(out, sizeof out, "ls %s | grep -c '\\.tmp$'", run);
    CHECK_MSG(atoi(out) == 0, "a .tmp was left on the full disk");
    /* room again: --resume finishes with the uninterrupted run's bits */
    rc = ent_test_run(out, sizeof out, "mount -o remount,size=1m %s", mnt);
    CHECK(rc == 0);
    rc = ent_test_run(out, sizeof out, "%s train --resume %s", cli, run);
    CHECK_MSG(rc == 0, "resume once there is room: %s", out);
    char rck[800];
    snprintf(rck, sizeof rck, "%s/checkpoint.safetensors", ref);
    CHECK_MSG(same_bytes_of_tensors(rck, ck), "the resumed run's final checkpoint is not the uninterrupted run's");

    /* read-only: the resume fails at its first write, naming it */
    rc = ent_test_run(out, sizeof out, "%s train --resume %s --epochs 3 && mount -o remount,ro %s", cli, run, mnt);
    CHECK(rc == 0);
    uint64_t step = ckpt_step(ck);
    rc = ent_test_run(out, sizeof out, "%s train --resume %s --epochs 4", cli, run);
    CHECK_MSG(rc == 2 && strstr(out, run) && strstr(out, "Read-only file system") && ent_test_count_lines(out) == 1,
              "read-only: exit %d (want 2 naming the file and EROFS): %s", rc, out);
    printf("    read-only: %s", out);
    CHECK(ckpt_step(ck) == step);
    rc = ent_test_run(out, sizeof out, "mount -o remount,rw %s && %s train --resume %s --epochs 4", mnt, cli, run);
    CHECK_MSG(rc == 0 && ckpt_step(ck) > step, "resume once writable: %s", out);

    /* hessian's outputs on a full disk */
    rc = ent_test_run(out, sizeof out, "cp %s %s/h.safetensors && dd if=/dev/zero of=%s/fill bs=4k 2>/dev/null; "
                      "%s hessian --checkpoint %s/h.safetensors --dataset mnist --data-dir %s --method lanczos --top 1 "
                      "--steps 5 --tol 0.999 --samples 50 --threads 1 --out %s/h", rck, mnt, mnt, cli, mnt, d, mnt);
    CHECK_MSG(rc == 2 && strstr(out, mnt) && (strstr(out, "No space left on device")) && ent_test_count_lines(out) == 1,
              "hessian on a full disk: exit %d: %s", rc, out);
    printf("    hessian: %s", out);
    ent_test_run(out, sizeof out, "umount %s", mnt);
}
