/* file.c — whole-file reads and atomic writes (temp file, fsync, rename,
 * fsync of the directory), so a crash never leaves a half-written file
 * under the real name. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fault.h"
#include "entropic.h"

/* fsync the directory holding path, so the rename itself is durable.
 * Some file systems refuse fsync on a directory (EINVAL); that is not an
 * error we can do anything about, so it is ignored. */
static int fsync_parent_dir(const char *path) {
    size_t n = strlen(path);
    char *dir = malloc(n + 2);
    if (!dir) return ENOMEM;
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = 0; /* "/file" -> "/" */
    else
        *slash = 0;
    int err = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        err = errno;
    } else {
        if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP) err = errno;
        close(fd);
    }
    free(dir);
    return err;
}

/* 0, or the errno of a failed write. */
static int write_all(int fd, const char *p, size_t left) {
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return errno;
        p += w;
        left -= (size_t)w;
    }
    return 0;
}

ent_status ent_write_file_atomic(const char *path, const void *data,
                                 size_t len) {
    if (!path || !*path || (!data && len))
        return ent_fail(ENT_EINVAL, "ent_write_file_atomic: no path or data");
    size_t n = strlen(path);
    char *tmp = malloc(n + 5);
    if (!tmp) return ent_fail(ENT_ENOMEM, "%s: out of memory", path);
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);

    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        int e = errno;
        ent_status s = ent_fail(e == ENOENT ? ENT_ENOENT : ENT_EIO,
                                "%s: cannot create: %s", tmp, strerror(e));
        free(tmp);
        return s;
    }
    ENT_FAULT_POINT("write:open");
    /* In two halves where the fault build can stop between them, as a kill
     * in the middle of a long write would. */
    const size_t half = ent_fault_point ? len / 2 : len;
    const char *what = NULL;
    int e = write_all(fd, data, half);
    if (!e) ENT_FAULT_POINT("write:half");
    if (!e) e = write_all(fd, (const char *)data + half, len - half);
    if (e) what = "write";
    if (!what) ENT_FAULT_POINT("write:written");
    if (!what && fsync(fd) != 0) {
        e = errno;
        what = "fsync";
    }
    if (close(fd) != 0 && !what) {
        e = errno;
        what = "close";
    }
    if (!what && rename(tmp, path) != 0) {
        e = errno;
        what = "rename";
    }
    if (what) {
        unlink(tmp);
        ent_status s = ent_fail(ENT_EIO, "%s: %s failed: %s", path, what,
                                strerror(e));
        free(tmp);
        return s;
    }
    free(tmp);
    ENT_FAULT_POINT("write:renamed");
    e = fsync_parent_dir(path);
    if (e) return ent_fail(e == ENOMEM ? ENT_ENOMEM : ENT_EIO, "%s: fsync of directory failed: %s", path,
                           strerror(e));
    return ENT_OK;
}

ent_status ent_read_file(const char *path, char **data, size_t *len) {
    if (!path || !data || !len)
        return ent_fail(ENT_EINVAL, "ent_read_file: NULL argument");
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        return ent_fail(e == ENOENT ? ENT_ENOENT : ENT_EIO, "%s: %s", path,
                        strerror(e));
    }
    /* Grow as we read: works for pipes and files that change size. The
     * buffer keeps one spare byte, set to 0, for callers that want text.
     * A device is no file of ours: /dev/zero would be read until memory
     * runs out. */
    size_t cap = 1 << 16, n = 0;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISDIR(st.st_mode))) {
        fclose(f);
        return ent_fail(ENT_EIO, "%s: not a regular file or a pipe", path);
    }
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
        cap = (size_t)st.st_size + 1;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return ent_fail(ENT_ENOMEM, "%s: out of memory (%zu bytes)", path, cap);
    }
    for (;;) {
        if (n + 1 >= cap) {
            size_t nc = cap * 2;
            char *nb = nc > cap ? realloc(buf, nc) : NULL;
            if (!nb) {
                free(buf);
                fclose(f);
                return ent_fail(ENT_ENOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap = nc;
        }
        size_t r = fread(buf + n, 1, cap - 1 - n, f);
        n += r;
        if (r == 0) break;
    }
    if (ferror(f)) {
        int e = errno;
        free(buf);
        fclose(f);
        return ent_fail(ENT_EIO, "%s: read failed: %s", path, strerror(e));
    }
    fclose(f);
    buf[n] = 0;
    *data = buf;
    *len = n;
    return ENT_OK;
}
