/* npy.h — reading NumPy .npy files (npy_header.c: the header; npy.c: the
 * data and the "arrays" data set). Internal to src/data/. */
#ifndef ENT_NPY_H
#define ENT_NPY_H

#include <stdio.h>

#include "entropic.h"

#define NPY_MAX_DIMS 8

typedef struct {
    FILE *f;              /* at the first data byte after npy_open */
    const char *path;
    char descr[16];       /* as written: "<f4", "|u1", ... */
    int kind;             /* 'f' float, 'i' signed, 'u' unsigned, 'b' bool */
    int itemsize;         /* bytes: 1, 2, 4 or 8 */
    int fortran;          /* fortran_order */
    int ndim;
    int64_t shape[NPY_MAX_DIMS];
    int64_t count;        /* product of the shape; count * itemsize bytes follow the header */
    int64_t data_offset;
} npy_info;

/* Open and validate: magic, version, the header dict, a dtype entropic
 * reads (little-endian f4 f8, i1..i8, u1..u8, b1), and a data size equal to
 * the rest of the file. Every error names the file. */
ent_status npy_open(npy_info *a, const char *path);
void npy_close(npy_info *a);
/* The shape from dimension `from` on, as Python writes it: "(3, 32, 32)". */
const char *npy_shape_str(const npy_info *a, int from, char *buf, size_t cap);

#endif
