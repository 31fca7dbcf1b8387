#!/usr/bin/python3
"""torch_bench.py — the PyTorch peer of `entropic bench`.

Builds the same networks as entropic's presets (the modules of
docs/models.md, imported from tools/gen_fixtures.py), float32, on
synthetic data of the same shape, and measures at one thread count, exactly
as src/cli/bench_ours.c does:

  train  one SGD step (lr 0.01, momentum 0.9, Nesterov): fresh mini-batch
         gathered from the in-memory set, forward, backward, update;
  infer  evaluation mode, no autograd: logits, loss and correct count of one
         mini-batch;
  esgd   one Entropy-SGD outer step (Algorithm 1 of Chaudhari et al. 2017,
         the paper's MNIST settings: L = 20, gamma0 1e-4, eta' 0.1,
         eps 1e-4, alpha 0.75, Nesterov inner momentum 0.9, outer lr 1),
         written plainly with torch.randn noise; counted as L x batch samples.

Sequence presets (charlstm, ptblstm-*) run the same three on a stream of
uniform token ids read in windows of T as in training, the state carried
from window to window and detached; they count tokens (T per sample).

Protocol: one discarded warm-up window, then --repeats timed windows of
--seconds each (every window runs at least one iteration); the rate of a
window is samples / elapsed. Prints one JSON object on standard output.

Thread count: run it in a fresh process with OMP_NUM_THREADS and
OPENBLAS_NUM_THREADS set to --threads (torch.set_num_threads alone does not
size OpenBLAS's pool); `entropic bench` does that, and also tries the
OMP_WAIT_POLICY and OpenBLAS-core settings described in bench/RESULTS.md
and src/cli/bench_torch.c.

It also reports which OpenBLAS kernels PyTorch runs ("openblas_core": the
core type of the libopenblas it loaded, "unknown" if none; and
"openblas_config") and torch's own build info ("blas_info",
"cpu_capability"); --probe prints only those, for `entropic bench` to
decide whether an OPENBLAS_CORETYPE is worth trying.

Standalone:
  OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=passive \\
      /usr/bin/python3 bench/torch_bench.py --threads 2 --models mnistfc
"""
import argparse
import ctypes
import json
import math
import os
import re
import statistics
import sys
import time

import torch
import torch.nn.functional as F


# The modules of docs/models.md, every preset, kept in one place
# (tools/gen_fixtures.py, whose fixtures the C tests compare against), so
# that the benchmark measures the very networks the fixtures check.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from gen_fixtures import PRESETS  # noqa: E402

MODELS = dict(PRESETS)
CIFAR = ("allcnn", "resnet18", "wrn-16-4")  # 3x32x32 inputs; the rest 1x28x28
# Sequence presets: (vocabulary, tokens per window T), as bench_ours.c has
# them; rates are then tokens/s (T per sample).
SEQUENCE = {"charlstm": (87, 50), "tiny-charlstm": (96, 50),
            "ptblstm-medium": (10000, 35), "ptblstm-large": (10000, 35)}

N_CLASSES = 10
BATCHES_IN_SET = 16  # the synthetic set holds 16 batches, as in bench_ours.c


class Sampler:
    """Mini-batches drawn without replacement from a fresh shuffle each
    epoch, gathered into new tensors (what a DataLoader over an in-memory
    TensorDataset does, minus its Python overhead)."""

    def __init__(self, x, y, batch):
        self.x, self.y, self.batch = x, y, batch
        self.perm, self.pos = torch.randperm(len(x)), 0

    def next(self):
        if self.pos >= len(self.perm):
            self.perm, self.pos = torch.randperm(len(self.x)), 0
        idx = self.perm[self.pos:self.pos + self.batch]
        self.pos += self.batch
        return self.x[idx], self.y[idx]


class EntropySGD:
    """One call of step() = one outer update of Algorithm 1 (Chaudhari et
    al. 2017), the same variant as entropic's default: momentum (Nesterov)
    on the whole SGLD drift, noise std eps sqrt(eta'), outer step
    x <- x - eta (x - mu). The model's parameters play x' during the loop."""

    def __init__(self, params, lr=1.0, L=20, gamma0=1e-4, gamma1=1e-3,
                 sgld_lr=0.1, noise=1e-4, alpha=0.75, momentum=0.9):
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.L, self.gamma0, self.gamma1 = lr, L, gamma0, gamma1
        self.sgld_lr, self.noise, self.alpha, self.m = sgld_lr, noise, alpha, momentum
        self.x = [torch.zeros_like(p) for p in self.params]
        self.mu = [torch.zeros_like(p) for p in self.params]
        self.buf = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    def step(self, closure):
        """closure(): draw a fresh mini-batch, zero the gradients, forward,
        backward."""
        gamma = self.gamma0 * (1.0 + self.gamma1) ** self.t
        sigma = self.noise * math.sqrt(self.sgld_lr)
        with torch.no_grad():
            for p, x, mu, b in zip(self.params, self.x, self.mu, self.buf):
                x.copy_(p)
                mu.copy_(p)
                b.zero_()
        for _ in range(self.L):
            closure()
            with torch.no_grad():
                for p, x, mu, b in zip(self.params, self.x, self.mu, self.buf):
                    d = p.grad.add(p - x, alpha=gamma)  # grad f(x') - gamma (x - x')
                    b.mul_(self.m).add_(d)
                    d.add_(b, alpha=self.m)             # Nesterov
                    p.add_(d, alpha=-self.sgld_lr)
                    p.add_(torch.randn_like(p), alpha=sigma)
                    mu.mul_(1.0 - self.alpha).add_(p, alpha=self.alpha)
        with torch.no_grad():
            for p, x, mu in zip(self.params, self.x, self.mu):
                x.sub_(x - mu, alpha=self.lr)
                p.copy_(x)
        self.t += 1


def timed_windows(fn, samples_per_iter, seconds, repeats):
    """One discarded warm-up window, then `repeats` windows of at least
    `seconds` and one iteration each; samples/s of every window."""
    rates = []
    for w in range(repeats + 1):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            dt = time.perf_counter() - t0
            if dt >= seconds:
                break
        if w > 0:
            rates.append(n * samples_per_iter / dt)
    return rates


def make_data(batch, name):
    n = BATCHES_IN_SET * batch
    shape = (3, 32, 32) if name in CIFAR else (1, 28, 28)
    return torch.randn(n, *shape), torch.randint(0, N_CLASSES, (n,))


def bench_train(model, x, y, a):
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    sampler = Sampler(x, y, a.batch)

    def it():
        xb, yb = sampler.next()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(xb), yb).backward()
        opt.step()
    return timed_windows(it, a.batch, a.seconds, a.repeats)


def bench_infer(model, x, y, a):
    model.eval()
    pos = [0]

    def it():
        i = pos[0]
        pos[0] = (i + a.batch) % len(x)
        with torch.inference_mode():
            xb, yb = x[i:i + a.batch], y[i:i + a.batch]
            out = model(xb)
            F.cross_entropy(out, yb)
            (out.argmax(1) == yb).sum()
    return timed_windows(it, a.batch, a.seconds, a.repeats)


def bench_esgd(model, x, y, a):
    model.train()
    opt = EntropySGD(model.parameters(), L=a.L)
    sampler = Sampler(x, y, a.batch)

    def closure():
        xb, yb = sampler.next()
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(xb), yb).backward()
    return timed_windows(lambda: opt.step(closure), a.L * a.batch, a.seconds, a.repeats)


class Windows:
    """Zaremba et al.'s reader over a token stream: `batch` consecutive
    streams, window k = tokens kT .. kT+T-1 of each, labels the next ones;
    cycles through the windows in order (as ent_batches_tokens)."""

    def __init__(self, ids, batch, steps):
        length = len(ids) // batch
        self.streams = ids[:batch * length].view(batch, length)
        self.steps, self.k, self.n = steps, 0, (length - 1) // steps

    def next(self):
        i = self.k * self.steps
        self.k = (self.k + 1) % self.n
        return self.streams[:, i:i + self.steps], self.streams[:, i + 1:i + 1 + self.steps]


def detach(state):
    return None if state is None else tuple(t.detach() for t in state)


def seq_loss(model, xb, yb, state):
    logits, state = model(xb, state)
    return F.cross_entropy(logits.flatten(0, 1), yb.flatten()), state


def seq_train(model, win, a, T):
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    state = [None]

    def it():
        xb, yb = win.next()
        opt.zero_grad(set_to_none=True)
        loss, st = seq_loss(model, xb, yb, detach(state[0]))
        state[0] = st
        loss.backward()
        opt.step()
    return timed_windows(it, a.batch * T, a.seconds, a.repeats)


def seq_infer(model, win, a, T):
    model.eval()
    state = [None]

    def it():
        with torch.inference_mode():
            xb, yb = win.next()
            logits, state[0] = model(xb, state[0])
            F.cross_entropy(logits.flatten(0, 1), yb.flatten())
            (logits.argmax(2) == yb).sum()
    return timed_windows(it, a.batch * T, a.seconds, a.repeats)


def seq_esgd(model, win, a, T):
    model.train()
    opt = EntropySGD(model.parameters(), L=a.L)
    state = [None]

    def closure():
        xb, yb = win.next()
        model.zero_grad(set_to_none=True)
        loss, st = seq_loss(model, xb, yb, detach(state[0]))
        state[0] = st
        loss.backward()
    return timed_windows(lambda: opt.step(closure), a.L * a.batch * T, a.seconds, a.repeats)


def bench_sequence(name, kind, a):
    """A sequence preset on a stream of uniform token ids, 16 windows of
    every stream (as bench_ours.c), the state carried from window to
    window and detached (truncated back-propagation through time)."""
    V, T = SEQUENCE[name]
    ids = torch.randint(0, V, (a.batch * (BATCHES_IN_SET * T + 1),))
    win = Windows(ids, a.batch, T)
    fn = {"train": seq_train, "infer": seq_infer, "esgd": seq_esgd}[kind]
    return fn(MODELS[name](vocab=V), win, a, T)


KINDS = {"train": bench_train, "infer": bench_infer, "esgd": bench_esgd}


def openblas_facts():
    """openblas_get_corename() and openblas_get_config() of the libopenblas
    this process loaded, found in /proc/self/maps after one matmul (Debian's
    torch reaches it through libblas.so.3, so every mapped BLAS library is
    asked); "unknown" for both if none answers."""
    a = torch.ones(16, 16)
    torch.mm(a, a)
    paths = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1]
                if p.startswith("/") and "blas" in os.path.basename(p) and p not in paths:
                    paths.append(p)
    except OSError:
        paths = []
    paths.sort(key=lambda p: not os.path.basename(p).startswith("libopenblas"))
    for p in paths:
        try:
            lib = ctypes.CDLL(p)  # already loaded: the same copy, no second one
        except OSError:
            continue
        core, config = (getattr(lib, f, None) for f in ("openblas_get_corename", "openblas_get_config"))
        if core is None:
            continue
        core.restype = ctypes.c_char_p
        out = {"openblas_core": (core() or b"unknown").decode(errors="replace"), "openblas_config": "unknown"}
        if config is not None:
            config.restype = ctypes.c_char_p
            out["openblas_config"] = (config() or b"unknown").decode(errors="replace")
        return out
    return {"openblas_core": "unknown", "openblas_config": "unknown"}


def build_info():
    """torch's BLAS and CPU-capability lines from torch.__config__.show()."""
    info = {"blas_info": "unknown", "cpu_capability": "unknown"}
    try:
        text = torch.__config__.show()
    except Exception:  # noqa: BLE001 (an old or odd build: the facts are optional)
        return info
    m = re.search(r"BLAS_INFO=([^,\s]+)", text)
    if m:
        info["blas_info"] = m.group(1)
    m = re.search(r"CPU capability usage: *([^\n]+)", text)
    if m:
        info["cpu_capability"] = m.group(1).strip()
    return info


def facts():
    return dict({"torch": torch.__version__}, **openblas_facts(), **build_info())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--L", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=0.5)
    ap.add_argument("--probe", action="store_true",
                    help="print the version and OpenBLAS core as JSON, measure nothing")
    a = ap.parse_args()
    if a.probe:
        json.dump(facts(), sys.stdout)
        sys.stdout.write("\n")
        return
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    results = []
    for name in a.models.split(","):
        x, y = (None, None) if name in SEQUENCE else make_data(a.batch, name)
        for kind in a.kinds.split(","):
            r = {"model": name, "kind": kind}
            if name not in MODELS:
                r["error"] = "no PyTorch module for this preset in bench/torch_bench.py"
            else:
                torch.manual_seed(1)
                rates = (bench_sequence(name, kind, a) if name in SEQUENCE
                         else KINDS[kind](MODELS[name](), x, y, a))
                r.update(median=statistics.median(rates), min=min(rates),
                         max=max(rates), windows=len(rates))
            results.append(r)
    env = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                           "OMP_WAIT_POLICY", "OPENBLAS_CORETYPE",
                                           "OPENBLAS_L2_SIZE")}
    out = facts()
    out.update(threads=torch.get_num_threads(), env=env, results=results)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
