#!/usr/bin/python3
"""gen_torch_roundtrip.py — PyTorch-written state_dicts for the round-trip
test (tests/test_torch_roundtrip.c).

Run by a developer (not by CI) with Debian's python3 + python3-torch:
    /usr/bin/python3 tools/gen_torch_roundtrip.py [outdir]   (default tests/fixtures)

For each preset in ROUNDTRIP it builds the docs/models.md module (the
classes are imported from tools/gen_fixtures.py, which holds the same code
as the doc) with PyTorch's default random initialisation under a fixed
torch.manual_seed, and writes
    torch_<preset>.safetensors   model.state_dict() as
                                 safetensors.torch.save_file(sd, path) writes
                                 it: no metadata at all (so entropic must be
                                 told the network with --model)
and, for all presets together,
    torch_roundtrip.bin          ENTFX1 (format in gen_fixtures.py):
        x [8, 1, 28, 28]         a fixed batch, N(0, 1) values
        y [8]                    labels in 0..9 (as float32)
        <preset>.logits [8, 10]  the module's logits on x in eval mode
        <preset>.loss []         F.cross_entropy(logits, y), mean
All float32, one thread. The small presets keep the files small
(tiny-mnistfc 25 kB, small-lenet 191 kB).

When the `safetensors` package is installed its save_file writes the files;
otherwise write_safetensors below writes the same format by hand: an 8-byte
little-endian header length n, n bytes of compact JSON
    {"<name>": {"dtype": "F32", "shape": [...], "data_offsets": [b, e]}, ...}
(no "__metadata__" key), padded with spaces to a multiple of 8 bytes, then
the tensors' little-endian bytes back to back in header order (here sorted
by name).
"""
import json
import os
import struct
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import PRESETS, write_fixture  # noqa: E402

ROUNDTRIP = [("tiny-mnistfc", 31), ("small-lenet", 32)]  # (preset, seed)
DTYPE_NAMES = {torch.float32: "F32", torch.int64: "I64", torch.float64: "F64"}


def write_safetensors(tensors, path):
    """{name: tensor} -> safetensors file without metadata."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        raw = t.numpy().tobytes()  # native order: little-endian (checked in main)
        header[name] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def save_state_dict(model, path):
    try:
        from safetensors.torch import save_file
    except ImportError:
        write_safetensors(model.state_dict(), path)
        return "written by hand"
    save_file(model.state_dict(), path)
    return "safetensors.torch.save_file"


def main():
    assert sys.byteorder == "little", "safetensors data is little-endian"
    outdir = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
    os.makedirs(outdir, exist_ok=True)
    torch.set_default_dtype(torch.float32)
    torch.set_num_threads(1)
    torch.manual_seed(30)
    x = torch.randn(8, 1, 28, 28)
    y = torch.randint(0, 10, (8,))
    arrays = [("x", x), ("y", y.float())]
    for preset, seed in ROUNDTRIP:
        torch.manual_seed(seed)
        model = PRESETS[preset]()
        model.eval()
        path = os.path.join(outdir, f"torch_{preset}.safetensors")
        how = save_state_dict(model, path)
        with torch.no_grad():
            logits = model(x)
            loss = F.cross_entropy(logits, y)
        arrays += [(preset + ".logits", logits), (preset + ".loss", loss)]
        print(f"{path}: {os.path.getsize(path)} bytes ({how}), "
              f"loss {loss.item():.6f}, |logits| <= {logits.abs().max().item():.3f}")
    size = write_fixture(os.path.join(outdir, "torch_roundtrip.bin"), arrays)
    print(f"{outdir}/torch_roundtrip.bin: {size} bytes")
    # the file holds no entropic metadata, and every tensor is F32 here
    for preset, _ in ROUNDTRIP:
        with open(os.path.join(outdir, f"torch_{preset}.safetensors"), "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            head = json.loads(f.read(n))
        assert "__metadata__" not in head, preset
        assert {v["dtype"] for v in head.values()} == {"F32"}, preset


if __name__ == "__main__":
    main()
