#!/usr/bin/python3
"""bench/hvp_torch.py — PyTorch doing what bench/hvp.c measures, for the
same preset and sample count: one gradient, one Hessian-vector product by
double back-propagation (torch.autograd.grad with create_graph=True, then
the gradient of g.v), and the top eigenvalues by the same Lanczos with full
re-orthogonalisation for a given number of steps, in float32 and float64.
Samples are processed in chunks of 128 (as entropic does), eval mode.

usage: hvp_torch.py PRESET SAMPLES REPS LANCZOS_STEPS
Prints "name seconds" lines (medians over REPS after a warm-up)."""
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from gen_fixtures import PRESETS as MODELS  # noqa: E402  (the modules of docs/models.md; eval mode: no dropout)

CHUNK = 128


def median_time(fn, reps):
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[len(ts) // 2]


def main():
    preset, n, reps, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.manual_seed(1)
    for dtype, tag in ((torch.float32, "f32"), (torch.float64, "f64")):
        model = MODELS[preset]().to(dtype).eval()
        params = [p for p in model.parameters()]
        x = torch.randn(n, 1, 28, 28, dtype=dtype)
        y = torch.randint(0, 10, (n,))
        v = [torch.randn_like(p) for p in params]

        def grad():
            model.zero_grad()
            for s in range(0, n, CHUNK):
                (F.cross_entropy(model(x[s:s + CHUNK]), y[s:s + CHUNK], reduction="sum") / n).backward()

        def hvp(vec=v):
            out = [torch.zeros_like(p) for p in params]
            for s in range(0, n, CHUNK):
                loss = F.cross_entropy(model(x[s:s + CHUNK]), y[s:s + CHUNK], reduction="sum") / n
                g = torch.autograd.grad(loss, params, create_graph=True)
                gv = sum((gi * vi).sum() for gi, vi in zip(g, vec))
                for o, h in zip(out, torch.autograd.grad(gv, params)):
                    o += h
            return out

        def lanczos():
            """steps of Lanczos with full re-orthogonalisation (twice), vectors in float64."""
            shapes = [p.shape for p in params]
            sizes = [p.numel() for p in params]
            P = sum(sizes)
            Q = torch.zeros(steps, P, dtype=torch.float64)
            q = torch.randint(0, 2, (P,), dtype=torch.float64) * 2 - 1
            Q[0] = q / q.norm()
            alpha, beta = [], []
            for j in range(steps):
                vec = [t.reshape(s).to(dtype) for t, s in zip(torch.split(Q[j], sizes), shapes)]
                w = torch.cat([h.flatten() for h in hvp(vec)]).to(torch.float64)
                alpha.append(float(Q[j] @ w))
                w -= alpha[-1] * Q[j] + (beta[-1] * Q[j - 1] if j else 0)
                for _ in range(2):
                    w -= Q[:j + 1].T @ (Q[:j + 1] @ w)
                beta.append(float(w.norm()))
                if j + 1 < steps:
                    Q[j + 1] = w / beta[-1]
            T = torch.diag(torch.tensor(alpha)) + torch.diag(torch.tensor(beta[:-1]), 1) + torch.diag(torch.tensor(beta[:-1]), -1)
            return torch.linalg.eigvalsh(T)

        print(f"grad_{tag} {median_time(grad, reps):.6f}")
        print(f"hvp_{tag} {median_time(hvp, reps):.6f}")
        if steps > 0:
            t0 = time.perf_counter()
            ev = lanczos()
            print(f"topk_{tag} {time.perf_counter() - t0:.6f} steps {steps} lambda_max {float(ev[-1]):.6g}")
        sys.stdout.flush()


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    main()
