#!/usr/bin/python3
"""gen_fixtures.py — PyTorch reference values for the layer tests.

Run by a developer (not by CI) with Debian's python3 + python3-torch:
    /usr/bin/python3 tools/gen_fixtures.py [outdir]     (default tests/fixtures)

For each layer kind it fixes torch.manual_seed, draws the input x, the
parameters and an upstream gradient r (float32), computes out, the loss
(out * r).sum() and, by autograd, dx and d<param>; batch-norm in train mode
also records the updated running statistics. tests/test_fixtures_layers.c
compares the C layers against every file.

File format ENTFX1 (all little-endian):
    8 bytes   magic "ENTFX1\\0\\0"
    int32     count of arrays
    count times:
        32 bytes  name, NUL padded (at most 31 characters)
        int32     ndim (0..4)
        4 x int64 shape (unused trailing entries 0)
        float32   data, prod(shape[:ndim]) values (1 for ndim 0), row-major
Integers (labels, settings) are stored as float32 values; a "config" array
holds a layer's settings (documented per fixture below).
"""
import os
import struct
import sys

import numpy as np
import torch

MAGIC = b"ENTFX1\0\0"


def write_fixture(path, arrays):
    """arrays: list of (name, tensor or array-like)."""
    out = bytearray(MAGIC)
    out += struct.pack("<i", len(arrays))
    for name, a in arrays:
        a = np.ascontiguousarray(
            a.detach().cpu().numpy() if torch.is_tensor(a) else np.asarray(a),
            dtype="<f4")
        assert len(name) < 32 and a.ndim <= 4, name
        shape = list(a.shape) + [0] * (4 - a.ndim)
        out += name.encode().ljust(32, b"\0")
        out += struct.pack("<i4q", a.ndim, *shape)
        out += a.tobytes()
    with open(path, "wb") as f:
        f.write(bytes(out))
    return len(out)


def grads(out, r, inputs):
    """loss = (out * r).sum(); returns the gradients of inputs."""
    (out * r).sum().backward()
    return [t.grad for t in inputs]


def linear():
    torch.manual_seed(1)
    m = torch.nn.Linear(10, 6)
    x = torch.randn(4, 10, requires_grad=True)
    out = m(x)
    r = torch.randn_like(out)
    dx, dw, db = grads(out, r, [x, m.weight, m.bias])
    return [("x", x), ("weight", m.weight), ("bias", m.bias), ("r", r),
            ("out", out), ("dx", dx), ("dweight", dw), ("dbias", db)]


def conv2d():
    """config = [out_c, k, stride, pad]."""
    torch.manual_seed(2)
    m = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1)
    x = torch.randn(2, 3, 7, 7, requires_grad=True)
    out = m(x)
    r = torch.randn_like(out)
    dx, dw, db = grads(out, r, [x, m.weight, m.bias])
    return [("config", [4, 3, 2, 1]), ("x", x), ("weight", m.weight),
            ("bias", m.bias), ("r", r), ("out", out), ("dx", dx),
            ("dweight", dw), ("dbias", db)]


def maxpool():
    """config = [k, stride]; 8x8 with 3/3 leaves a remainder (floor mode)."""
    torch.manual_seed(3)
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    out = torch.nn.MaxPool2d(3, 3)(x)
    r = torch.randn_like(out)
    (dx,) = grads(out, r, [x])
    return [("config", [3, 3]), ("x", x), ("r", r), ("out", out), ("dx", dx)]


def batchnorm(dims, train, seed, shape):
    """config = [eps, momentum, train]; running_* are the stats before the
    call, running_*_new (train only) after it."""
    torch.manual_seed(seed)
    c = shape[1]
    m = (torch.nn.BatchNorm1d if dims == 1 else torch.nn.BatchNorm2d)(
        c, eps=1e-5, momentum=0.1)
    with torch.no_grad():
        m.weight.uniform_(0.5, 1.5)
        m.bias.uniform_(-0.5, 0.5)
        m.running_mean.uniform_(-0.5, 0.5)
        m.running_var.uniform_(0.5, 1.5)
    rm0, rv0 = m.running_mean.clone(), m.running_var.clone()
    m.train(train)
    x = (torch.randn(*shape) * 2 + 0.7).requires_grad_(True)
    out = m(x)
    r = torch.randn_like(out)
    dx, dw, db = grads(out, r, [x, m.weight, m.bias])
    arrays = [("config", [1e-5, 0.1, 1.0 if train else 0.0]), ("x", x),
              ("weight", m.weight), ("bias", m.bias), ("running_mean", rm0),
              ("running_var", rv0), ("r", r), ("out", out), ("dx", dx),
              ("dweight", dw), ("dbias", db)]
    if train:
        arrays += [("running_mean_new", m.running_mean),
                   ("running_var_new", m.running_var),
                   ("num_batches_tracked_new",
                    m.num_batches_tracked.float().reshape(()))]
    return arrays


def relu():
    torch.manual_seed(4)
    x = torch.randn(3, 17, requires_grad=True)
    out = torch.relu(x)
    r = torch.randn_like(out)
    (dx,) = grads(out, r, [x])
    return [("x", x), ("r", r), ("out", out), ("dx", dx)]


def cross_entropy():
    """logits [n, k], y [n] (labels as floats), loss 0-D = mean CE,
    prob = softmax, dlogits = d loss / d logits."""
    torch.manual_seed(5)
    logits = (torch.randn(6, 7) * 3).requires_grad_(True)
    y = torch.randint(0, 7, (6,))
    loss = torch.nn.CrossEntropyLoss()(logits, y)
    loss.backward()
    return [("logits", logits), ("y", y.float()), ("loss", loss),
            ("prob", torch.softmax(logits, 1)), ("dlogits", logits.grad)]


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
    os.makedirs(outdir, exist_ok=True)
    torch.set_default_dtype(torch.float32)
    torch.set_num_threads(1)
    fixtures = {
        "linear": linear(),
        "conv2d": conv2d(),
        "maxpool": maxpool(),
        "batchnorm1d_train": batchnorm(1, True, 6, (8, 5)),
        "batchnorm2d_train": batchnorm(2, True, 7, (3, 4, 5, 5)),
        "batchnorm2d_eval": batchnorm(2, False, 8, (3, 4, 5, 5)),
        "relu": relu(),
        "cross_entropy": cross_entropy(),
    }
    total = 0
    for name, arrays in fixtures.items():
        total += write_fixture(os.path.join(outdir, name + ".bin"), arrays)
    print(f"wrote {len(fixtures)} fixtures, {total} bytes, to {outdir}")


if __name__ == "__main__":
    main()
