#!/usr/bin/python3
"""gen_hvp_fixtures.py — PyTorch reference Hessian-vector products for the
small networks of the Entropy-SGD Hessian study (src/models/small.c).

Run by a developer (not by CI) with Debian's python3 + python3-torch:
    /usr/bin/python3 tools/gen_hvp_fixtures.py [outdir]   (default tests/fixtures)

For each preset (small-mnistfc, small-lenet) and the residual block net
of tests/fixtures/resblock.json (batch-norm on batch statistics, as
`hessian --bn-train` measures it) it builds the parameter
vector theta and a direction v by a formula that C rebuilds bit for bit
(below), draws a batch x [16, 1, 28, 28] ~ N(0, 1) with labels y, and
computes in float64, from those float32 values,
    loss = F.cross_entropy(net(x), y)      (mean over the 16 samples)
    hv   = torch.autograd.functional.hvp(loss as a function of theta, theta, v)
(double back-propagation: an independent method from our R-operator).
tests/test_hvp_fixtures.c compares entropic's Hv with hv.

File format: ENTFX1, as written by tools/gen_fixtures.py (write_fixture is
imported from there). Arrays:
    x [16,1,28,28], y [16] (labels as float32)
    tkeys [T], tbounds [T]   per parameter tensor t (state_dict order):
                             theta_t[i] = float32((u - 0.5) * 2 * bound_t)
                             with u = uniform(key_t, i) (below)
    vkeys [T]                v_t[i] = float32((u - 0.5) * 2), u = uniform(vkey_t, i)
    loss [], hv [P], vhv []  float64 results stored as float32
uniform(key, i) = (splitmix64(key * 2^32 + i) >> 11) * 2^-53, splitmix64 as
in gen_fixtures.py. bound_t = float32(1 / sqrt(fan_in)) of the tensor's layer
(the PyTorch default initialisation's range), used as that float32 value.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import splitmix64, write_fixture  # noqa: E402

# (name, shape, fan_in) in state_dict order, as src/models/small.c builds them
SMALL_MNISTFC = [("fc1.weight", (64, 784), 784), ("fc1.bias", (64,), 784),
                 ("fc2.weight", (10, 64), 64), ("fc2.bias", (10,), 64)]
SMALL_LENET = [("conv1.weight", (10, 1, 5, 5), 25), ("conv1.bias", (10,), 25),
               ("conv2.weight", (20, 10, 5, 5), 250), ("conv2.bias", (20,), 250),
               ("fc1.weight", (128, 320), 320), ("fc1.bias", (128,), 320),
               ("fc2.weight", (10, 128), 128), ("fc2.bias", (10,), 128)]


def uniform(key, n):
    i = np.arange(n, dtype=np.uint64)
    return (splitmix64((np.uint64(key) << np.uint64(32)) + i)
            >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def formula(key, shape, bound):
    n = int(np.prod(shape))
    return torch.from_numpy(((uniform(key, n) - 0.5) * 2.0 * bound)
                            .astype(np.float32).reshape(shape))


def forward_mnistfc(p, x):
    h = F.relu(F.linear(x.flatten(1), p["fc1.weight"], p["fc1.bias"]))
    return F.linear(h, p["fc2.weight"], p["fc2.bias"])


def forward_lenet(p, x):
    h = F.max_pool2d(F.relu(F.conv2d(x, p["conv1.weight"], p["conv1.bias"])), 2, 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, p["conv2.weight"], p["conv2.bias"])), 2, 2)
    h = F.relu(F.linear(h.flatten(1), p["fc1.weight"], p["fc1.bias"]))
    return F.linear(h, p["fc2.weight"], p["fc2.bias"])


# tests/fixtures/resblock.json: a basic block with a 1x1 projection
# shortcut (batch-norm on batch statistics), the global mean and fc
RESBLOCK = [("conv1.weight", (4, 1, 3, 3), 9), ("bn1.weight", (4,), 1), ("bn1.bias", (4,), 1),
            ("conv2.weight", (8, 4, 3, 3), 36), ("bn2.weight", (8,), 1), ("bn2.bias", (8,), 1),
            ("conv3.weight", (8, 8, 3, 3), 72), ("conv3.bias", (8,), 72),
            ("bn3.weight", (8,), 1), ("bn3.bias", (8,), 1),
            ("shortcut.0.weight", (8, 4, 1, 1), 4), ("shortcut.1.weight", (8,), 1),
            ("shortcut.1.bias", (8,), 1), ("fc.weight", (10, 8), 8), ("fc.bias", (10,), 8)]


def forward_resblock(p, x):
    def bn(h, name):
        return F.batch_norm(h, None, None, p[name + ".weight"], p[name + ".bias"], training=True)
    a = F.relu(bn(F.conv2d(x, p["conv1.weight"], stride=2, padding=1), "bn1"))
    h = F.relu(bn(F.conv2d(a, p["conv2.weight"], stride=2, padding=1), "bn2"))
    h = bn(F.conv2d(h, p["conv3.weight"], p["conv3.bias"], padding=1), "bn3")
    s = bn(F.conv2d(a, p["shortcut.0.weight"], stride=2), "shortcut.1")
    return F.linear(F.relu(h + s).mean((2, 3)), p["fc.weight"], p["fc.bias"])


def fixture(table, forward, seed, key0):
    torch.manual_seed(seed)
    x = torch.randn(16, 1, 28, 28)
    y = torch.randint(0, 10, (16,))
    tkeys = [key0 + t for t in range(len(table))]
    vkeys = [key0 + 100 + t for t in range(len(table))]
    # stored as float32, so C reads exactly the bound used here
    bounds = [float(np.float32(1.0 / np.sqrt(np.float64(fan)))) for _, _, fan in table]
    theta = torch.cat([formula(k, s, b).flatten()
                       for k, (_, s, _), b in zip(tkeys, table, bounds)])
    v = torch.cat([formula(k, s, 1.0).flatten()
                   for k, (_, s, _) in zip(vkeys, table)])
    sizes = [int(np.prod(s)) for _, s, _ in table]
    xd = x.double()

    def loss_of(flat):
        parts = torch.split(flat, sizes)
        p = {name: t.reshape(s) for (name, s, _), t in zip(table, parts)}
        return F.cross_entropy(forward(p, xd), y)

    loss, hv = torch.autograd.functional.hvp(loss_of, theta.double(), v.double())
    return [("x", x), ("y", y.float()), ("tkeys", [float(k) for k in tkeys]),
            ("tbounds", bounds), ("vkeys", [float(k) for k in vkeys]),
            ("loss", loss.reshape(())), ("hv", hv),
            ("vhv", (v.double() * hv).sum().reshape(()))]


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)
    out = {"hvp_small_mnistfc": fixture(SMALL_MNISTFC, forward_mnistfc, 21, 1),
           "hvp_small_lenet": fixture(SMALL_LENET, forward_lenet, 22, 11),
           "hvp_resblock": fixture(RESBLOCK, forward_resblock, 23, 31)}
    total = 0
    for name, arrays in out.items():
        total += write_fixture(os.path.join(outdir, name + ".bin"), arrays)
    print(f"wrote {len(out)} fixtures, {total} bytes, to {outdir}")


if __name__ == "__main__":
    main()
