#!/usr/bin/python3
"""check_safetensors.py - parse a safetensors file by hand with numpy.

The format is: u64 little-endian header length N, N bytes of JSON header
(tensor name -> {dtype, shape, data_offsets}, plus an optional string map
"__metadata__"), then the data buffer that the offsets index. This checks
what Python's `safetensors` loader checks (tensors contiguous, covering the
whole buffer, sizes consistent with dtype and shape) and prints one line per
tensor: "name DTYPE [d0, d1, ...]". Exit status 1 on any problem.

Usage: tools/check_safetensors.py [--values] FILE...
  --values  also print the first few values of each tensor
"""
import json
import struct
import sys

import numpy as np

DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"), "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: {len(raw)} bytes, too short")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError(f"{path}: header length {n} exceeds the file")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError(f"{path}: header is not an object")
    data = raw[8 + n:]
    meta = header.pop("__metadata__", None)
    if meta is not None and not all(isinstance(v, str) for v in meta.values()):
        raise ValueError(f"{path}: __metadata__ values must be strings")
    tensors = {}
    spans = []
    for name, info in header.items():
        dt = DTYPES[info["dtype"]]
        shape = [int(d) for d in info["shape"]]
        b, e = (int(x) for x in info["data_offsets"])
        numel = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if not 0 <= b <= e <= len(data) or e - b != numel * dt.itemsize:
            raise ValueError(f"{path}: tensor {name}: bad data_offsets {b},{e}")
        tensors[name] = (info["dtype"], shape,
                         np.frombuffer(data, dtype=dt, count=numel, offset=b)
                         .reshape(shape))
        spans.append((b, e))
    # Python's safetensors requires contiguous tensors covering the buffer.
    end = 0
    for b, e in sorted(spans):
        if b != end:
            raise ValueError(f"{path}: gap or overlap at byte {b} of the data")
        end = e
    if end != len(data):
        raise ValueError(f"{path}: {len(data) - end} bytes after the last tensor")
    return tensors, meta or {}


def main(argv):
    values = "--values" in argv
    files = [a for a in argv if a != "--values"]
    if not files:
        print(__doc__, file=sys.stderr)
        return 2
    status = 0
    for path in files:
        try:
            tensors, meta = load(path)
        except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
            print(f"error: {path}: {e}", file=sys.stderr)
            status = 1
            continue
        print(f"{path}: {len(tensors)} tensors")
        for k, v in meta.items():
            print(f"  meta {k!r} = {v!r}")
        for name, (dtype, shape, arr) in tensors.items():
            line = f"{name} {dtype} {shape}"
            if values:
                line += " " + np.array2string(arr.reshape(-1)[:8], separator=", ")
            print(line)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
