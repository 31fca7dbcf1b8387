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

Sequence models (hvp_tiny_charlstm: the preset tiny-charlstm at V = 96;
hvp_embed_lstm: Embedding(11, 6), a 2-layer LSTM of 5, Linear(5, 11)):
the same, with x [4, 10] token ids (as float32) and y [4, 10] the labels
of every position; loss = F.cross_entropy(logits.flatten(0, 1),
y.flatten()), the mean over the 40 tokens, from a zero state. An LSTM
tensor's bound is 1 / sqrt(hidden), an embedding's 1.

    /usr/bin/python3 tools/gen_hvp_fixtures.py [outdir] [NAME ...]
writes only the named fixtures (the others' bits depend on the CPU that
made them).
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


def lstm_table(prefix, layers, n_in, hidden):
    """nn.LSTM's tensors in state_dict order, fan-in hidden (its init range)."""
    t = []
    for k in range(layers):
        t += [(f"{prefix}.weight_ih_l{k}", (4 * hidden, n_in if k == 0 else hidden), hidden),
              (f"{prefix}.weight_hh_l{k}", (4 * hidden, hidden), hidden),
              (f"{prefix}.bias_ih_l{k}", (4 * hidden,), hidden),
              (f"{prefix}.bias_hh_l{k}", (4 * hidden,), hidden)]
    return t


TINY_CHARLSTM = lstm_table("lstm", 1, 96, 48) + [("fc.weight", (96, 48), 48)]
EMBED_LSTM = ([("embed.weight", (11, 6), 1)] + lstm_table("lstm", 2, 6, 5) +
              [("fc.weight", (11, 5), 5), ("fc.bias", (11,), 5)])


def run_lstm(p, x, prefix, layers):
    h = x
    for k in range(layers):
        n, T, _ = h.shape
        H = p[f"{prefix}.weight_hh_l{k}"].shape[1]
        ht, ct, out = h.new_zeros(n, H), h.new_zeros(n, H), []
        for t in range(T):
            a = (F.linear(h[:, t], p[f"{prefix}.weight_ih_l{k}"], p[f"{prefix}.bias_ih_l{k}"]) +
                 F.linear(ht, p[f"{prefix}.weight_hh_l{k}"], p[f"{prefix}.bias_hh_l{k}"]))
            i, f, g, o = a.chunk(4, 1)
            ct = torch.sigmoid(f) * ct + torch.sigmoid(i) * torch.tanh(g)
            ht = torch.sigmoid(o) * torch.tanh(ct)
            out.append(ht)
        h = torch.stack(out, 1)
    return h


def forward_tiny_charlstm(p, x):
    h = run_lstm(p, F.one_hot(x.long(), 96).double(), "lstm", 1)
    return F.linear(h, p["fc.weight"])


def forward_embed_lstm(p, x):
    h = run_lstm(p, F.embedding(x.long(), p["embed.weight"]), "lstm", 2)
    return F.linear(h, p["fc.weight"], p["fc.bias"])


def seq_fixture(table, forward, seed, key0, vocab):
    """The sequence models' fixture: ids x [4, 10], labels y [4, 10]; the
    hand-written LSTM above is checked against nn.LSTM here."""
    torch.manual_seed(seed)
    x = torch.randint(0, vocab, (4, 10))
    y = torch.randint(0, vocab, (4, 10))
    tkeys = [key0 + t for t in range(len(table))]
    vkeys = [key0 + 100 + t for t in range(len(table))]
    bounds = [float(np.float32(1.0 / np.sqrt(np.float64(fan)))) for _, _, fan in table]
    theta = torch.cat([formula(k, s, b).flatten()
                       for k, (_, s, _), b in zip(tkeys, table, bounds)])
    v = torch.cat([formula(k, s, 1.0).flatten()
                   for k, (_, s, _) in zip(vkeys, table)])
    sizes = [int(np.prod(s)) for _, s, _ in table]

    def params(flat):
        return {name: t.reshape(s) for (name, s, _), t in zip(table, torch.split(flat, sizes))}

    def loss_of(flat):
        return F.cross_entropy(forward(params(flat), x).flatten(0, 1), y.flatten())

    # the unrolled cell is nn.LSTM's
    p = params(theta.double())
    layers = sum(1 for name, _, _ in table if "weight_hh" in name)
    n_in, hidden = p["lstm.weight_ih_l0"].shape[1], p["lstm.weight_hh_l0"].shape[1]
    ref = torch.nn.LSTM(n_in, hidden, num_layers=layers, batch_first=True).double()
    ref.load_state_dict({k[5:]: p[k] for k in p if k.startswith("lstm.")})
    xin = torch.randn(4, 10, n_in, dtype=torch.float64)
    assert torch.allclose(ref(xin)[0], run_lstm(p, xin, "lstm", layers), atol=1e-12)

    loss, hv = torch.autograd.functional.hvp(loss_of, theta.double(), v.double())
    return [("x", x.float()), ("y", y.float()), ("tkeys", [float(k) for k in tkeys]),
            ("tbounds", bounds), ("vkeys", [float(k) for k in vkeys]),
            ("loss", loss.reshape(())), ("hv", hv),
            ("vhv", (v.double() * hv).sum().reshape(()))]


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
    only = set(sys.argv[2:])
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)
    out = {"hvp_small_mnistfc": lambda: fixture(SMALL_MNISTFC, forward_mnistfc, 21, 1),
           "hvp_small_lenet": lambda: fixture(SMALL_LENET, forward_lenet, 22, 11),
           "hvp_resblock": lambda: fixture(RESBLOCK, forward_resblock, 23, 31),
           "hvp_tiny_charlstm": lambda: seq_fixture(TINY_CHARLSTM, forward_tiny_charlstm, 24, 51, 96),
           "hvp_embed_lstm": lambda: seq_fixture(EMBED_LSTM, forward_embed_lstm, 25, 71, 11)}
    unknown = only - set(out)
    assert not unknown, f"no fixture named {sorted(unknown)}"
    total, written = 0, 0
    for name, make in out.items():
        if only and name not in only:
            continue
        total += write_fixture(os.path.join(outdir, name + ".bin"), make())
        written += 1
    print(f"wrote {written} fixtures, {total} bytes, to {outdir}")


if __name__ == "__main__":
    main()
