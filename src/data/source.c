/* source.c — one entry point from a data source (a name and a folder, or
 * for "arrays" four .npy files) to a split, for the training run and every
 * command that reads data. */
#include <string.h>

#include "entropic.h"

static int given(const char *s) { return s && s[0]; }

static ent_status load_arrays(ent_dataset **out, const ent_data_source *src, ent_split split) {
    const int train = split == ENT_SPLIT_TRAIN;
    const char *x = train ? src->train_x : src->test_x, *y = train ? src->train_y : src->test_y;
    const char *ox = train ? src->test_x : src->train_x, *oy = train ? src->test_y : src->train_y;
    const char *which = train ? "train" : "test", *other = train ? "test" : "train";
    if (!given(x) || !given(y))
        return ent_fail(ENT_EUSAGE, "--dataset arrays: the %s split needs --%s-x X.npy and --%s-y y.npy", which,
                        which, which);
    if (given(ox) != given(oy))
        return ent_fail(ENT_EUSAGE, "--dataset arrays: --%s-x and --%s-y go together (one of them is missing)",
                        other, other);
    return ent_arrays_load(out, x, y, given(ox) ? ox : NULL, given(oy) ? oy : NULL);
}

ent_status ent_data_load(ent_dataset **out, const ent_data_source *src, ent_split split) {
    if (!out || !src) return ent_fail(ENT_EINVAL, "ent_data_load: NULL argument");
    *out = NULL;
    if (split != ENT_SPLIT_TRAIN && split != ENT_SPLIT_TEST)
        return ent_fail(ENT_EINVAL, "ent_data_load: bad split %d", (int)split);
    if (strcmp(src->name, "arrays") == 0) return load_arrays(out, src, split);
    if (given(src->train_x) || given(src->train_y) || given(src->test_x) || given(src->test_y))
        return ent_fail(ENT_EUSAGE, "--train-x, --train-y, --test-x and --test-y are for --dataset arrays, not '%s'",
                        src->name);
    return ent_dataset_load(out, src->name, given(src->dir) ? src->dir : NULL, split);
}
