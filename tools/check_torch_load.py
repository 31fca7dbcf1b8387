#!/usr/bin/python3
"""check_torch_load.py — prove that an entropic checkpoint moves to PyTorch
unchanged.

    /usr/bin/python3 tools/check_torch_load.py CHECKPOINT [--n N] [--dir DIR]

Reads CHECKPOINT (safetensors) with a NumPy-only parser (no safetensors
package needed), builds the docs/models.md module for the preset named in
its metadata (the classes are imported from tools/gen_fixtures.py, which
holds the same code as the doc), loads the model tensors with strict=True
(the "optim." optimizer tensors are left out), and evaluates it in eval mode
on the first N (default: all 10000) test images of the checkpoint's data
set, read from the IDX files with gzip + NumPy and normalised exactly as
entropic does: (x/255 - mean) / std. Prints the mean loss and the error;
`entropic eval --checkpoint CHECKPOINT` on the same images should print
the same numbers.
"""
import argparse
import gzip
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import PRESETS  # noqa: E402  (same code as docs/models.md)

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64,
          "I32": np.int32, "F16": np.float16, "U8": np.uint8}
DATASETS = {  # name: (default dir, mean, std), as in src/data/idx.c
    "fashion-mnist": ("/usr/share/datasets/fashion-mnist", 0.2860, 0.3530),
    "mnist": (None, 0.1307, 0.3081),
}


def load_safetensors(path):
    """Returns ({name: torch tensor}, metadata dict)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        a = np.frombuffer(blob, dtype=np.dtype(DTYPES[info["dtype"]]).newbyteorder("<"),
                          count=(end - begin) // np.dtype(DTYPES[info["dtype"]]).itemsize,
                          offset=base + begin)
        tensors[name] = torch.from_numpy(a.reshape(info["shape"]).copy())
    return tensors, meta


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    _, dtype, ndim = struct.unpack_from(">HBB", data, 0)
    assert dtype == 0x08, f"{path}: not unsigned bytes"
    dims = struct.unpack_from(">" + "I" * ndim, data, 4)
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(d, stem):
    for name in (stem + ".gz", stem):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    sys.exit(f"{d}: no {stem}[.gz]")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--n", type=int, default=0, help="first N test images (0 = all)")
    ap.add_argument("--dir", default=None, help="data set directory")
    args = ap.parse_args()

    sd, meta = load_safetensors(args.checkpoint)
    preset, dataset = meta.get("model"), meta.get("dataset", "fashion-mnist")
    if preset not in PRESETS:
        sys.exit(f"{args.checkpoint}: model {preset!r} is not one of {', '.join(PRESETS)}")
    model = PRESETS[preset]()
    model_sd = {k: v for k, v in sd.items() if not k.startswith("optim.")}
    model.load_state_dict(model_sd, strict=True)  # every name and shape
    model.eval()

    ddir, mean, std = DATASETS[dataset]
    ddir = args.dir or ddir
    imgs = read_idx(find(ddir, "t10k-images-idx3-ubyte"))
    labels = read_idx(find(ddir, "t10k-labels-idx1-ubyte")).astype(np.int64)
    if args.n:
        imgs, labels = imgs[:args.n], labels[:args.n]
    # entropic's table: float32 mean/std, computed in double, stored as float
    lut = ((np.arange(256) / 255.0 - float(np.float32(mean)))
           / float(np.float32(std))).astype(np.float32)
    x = torch.from_numpy(lut[imgs].reshape(-1, 1, 28, 28))
    y = torch.from_numpy(labels)

    with torch.no_grad():
        loss, wrong = 0.0, 0
        for i in range(0, len(y), 1000):
            logits = model(x[i:i + 1000])
            loss += F.cross_entropy(logits, y[i:i + 1000], reduction="sum").item()
            wrong += (logits.argmax(1) != y[i:i + 1000]).sum().item()
    n = len(y)
    print(f"{preset} on {dataset}/test ({n} samples): loss {loss / n:.6f}  "
          f"error {100.0 * wrong / n:.2f}%  [PyTorch {torch.__version__}, "
          f"{len(model_sd)} model tensors loaded strictly, "
          f"{len(sd) - len(model_sd)} optim. tensors skipped]")


if __name__ == "__main__":
    main()
