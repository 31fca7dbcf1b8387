#!/usr/bin/env python3
"""make_corpus.py: the hand-made seeds of tests/fuzz/corpus/ (run from the
repository root; the files are committed, so this runs only to add seeds).
Real files come from the build: `entropic model show` for network files,
tests/fixtures for a PyTorch safetensors file. Two-file targets (idx,
idx_gzip, npy) take one input: 2 bytes (little-endian) of the first file's
length, the first file, the second (tests/fuzz/fuzz.h)."""
import gzip, json, os, struct, subprocess, sys

root = "tests/fuzz/corpus"

def put(target, name, data):
    os.makedirs(f"{root}/{target}", exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(f"{root}/{target}/{name}", "wb") as f:
        f.write(data)

def pair(a, b):
    return struct.pack("<H", len(a)) + a + b

# ---- safetensors
def st(header, data=b"", raw_len=None):
    h = json.dumps(header, separators=(",", ":")).encode() if not isinstance(header, bytes) else header
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h) if raw_len is None else raw_len) + h + data

f32 = lambda *v: struct.pack(f"<{len(v)}f", *v)
meta = {"format": "pt", "model": "tiny-mnistfc", "run.step": "12", "model.bn_eps": "1e-05"}
put("safetensors", "two_tensors", st({"__metadata__": meta,
    "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
    "n": {"dtype": "I64", "shape": [], "data_offsets": [16, 24]}}, f32(1, 2, 3, 4) + struct.pack("<q", 7)))
put("safetensors", "empty_tensor", st({"e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [0, 0]},
    "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, f32(1)))
put("safetensors", "out_of_order", st({"b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
    "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, f32(1, 2)))
put("safetensors", "duplicate", st(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                                    b'"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32(1, 2)))
put("safetensors", "overlap", st({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
    "b": {"dtype": "F32", "shape": [], "data_offsets": [4, 8]}}, f32(1, 2)))
put("safetensors", "gap", st({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, f32(1, 2)))
put("safetensors", "nan_and_int64_min", st({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
    "n": {"dtype": "I64", "shape": [1], "data_offsets": [4, 12]}}, struct.pack("<I", 0x7fc00000) + struct.pack("<q", -2**63)))
put("safetensors", "header_2p63", st({"a": 1}, b"", raw_len=2**63))
put("safetensors", "huge_shape", st({"a": {"dtype": "F32", "shape": [2**53, 2**53], "data_offsets": [0, 4]}}, f32(1)))
put("safetensors", "bf16", st({"a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}, f32(1)))
put("safetensors", "short", b"\x08\x00\x00")
with open("tests/fixtures/torch_tiny-mnistfc.safetensors", "rb") as f:
    put("safetensors", "torch_tiny_mnistfc", f.read())

# ---- JSON (config.json, headers, network files)
put("json", "config", json.dumps({"model": "mnistfc", "epochs": 10, "batch_size": 128, "lr_milestones": [30, 60],
    "optimizer": {"name": "entropy-sgd", "lr": 1.0, "nesterov": True}, "val_indices": [3, 1, 4],
    "argv": ["--model", "mnistfc", "--lr", "0.1", "--out", "runs/a"]}, indent=2))
put("json", "escapes", '{"a\\u00e9\\n":"\\ud83d\\ude00 \\" \\\\ \\/","b":[-0.0,1e-320,1.7976931348623157e308,-12,null,true,false]}')
put("json", "deep", "[" * 40 + "]" * 40)
put("json", "bad_surrogate", '{"a":"\\ud800"}')
put("json", "trailing", '{"a":1} x')
put("json", "big_number", '[1e400, -1e400, 123456789012345678901234567890]')

# ---- IDX: labels then images, raw (idx) and as gzip's content (idx_gzip)
def idx_pair(n, h=28, w=28, label=lambda i: i % 10, lab_n=None, img_n=None, cut=0):
    lab = struct.pack(">II", 0x801, n if lab_n is None else lab_n) + bytes(label(i) for i in range(n))
    img = struct.pack(">IIII", 0x803, n if img_n is None else img_n, h, w) + bytes((i * 7) % 256 for i in range(n * h * w))
    return pair(lab, img[:len(img) - cut])
for t in ("idx", "idx_gzip"):
    put(t, "ten_28x28", idx_pair(10))
    put(t, "one_3x5", idx_pair(1, 3, 5))
    put(t, "label_10", idx_pair(4, 2, 2, label=lambda i: 10 if i == 3 else 0))
    put(t, "count_mismatch", idx_pair(4, 2, 2, img_n=5))
    put(t, "truncated", idx_pair(4, 2, 2, cut=3))
    put(t, "promises_1e8", idx_pair(1, 1, 1, lab_n=10**8, img_n=10**8))
    put(t, "bad_magic", pair(b"\x00\x00\x08\x03\x00\x00\x00\x01\x00", b"\x00\x00\x08\x01"))
# a real gzip stream in the raw target too (gzread reads both)
put("idx", "gzip_members", pair(gzip.compress(idx_pair(2, 2, 2)[2:2 + 10]), gzip.compress(b"\x00\x00\x08\x03")))

# ---- CIFAR-10 records: label byte + 3072 pixel bytes
rec = lambda lab, k: bytes([lab]) + bytes((k * 31 + i) % 256 for i in range(3072))
put("cifar", "two_records", rec(3, 0) + rec(9, 1))
put("cifar", "partial_record", rec(1, 0) + rec(2, 1)[:100])
put("cifar", "label_10", rec(10, 0))
put("cifar", "empty", b"")

# ---- .npy: X then y
def npy(descr, shape, payload, version=1, fortran=False):
    d = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (descr, fortran, "".join(f"{s}, " for s in shape) if len(shape) != 1 else f"{shape[0]},")
    pre = 10 if version == 1 else 12
    d += " " * (-(pre + len(d) + 1) % 64) + "\n"
    lenf = struct.pack("<H", len(d)) if version == 1 else struct.pack("<I", len(d))
    return b"\x93NUMPY" + bytes([version, 0]) + lenf + d.encode() + payload
X = npy("<f4", (3, 4), struct.pack("<12f", *range(12)))
y = npy("<i8", (3,), struct.pack("<3q", 0, 1, 2))
put("npy", "f4_2d", pair(X, y))
put("npy", "u1_3d_v2", pair(npy("|u1", (2, 2, 2), bytes(range(8)), version=2), npy("|u1", (2,), b"\x01\x00")))
put("npy", "f8_4d", pair(npy("<f8", (1, 1, 2, 2), struct.pack("<4d", 1, 2, 3, 4)), npy("<i4", (1,), struct.pack("<i", 5))))
put("npy", "fortran", pair(npy("<f4", (2, 2), f32(1, 2, 3, 4), fortran=True), npy("<i8", (2,), struct.pack("<2q", 0, 1))))
put("npy", "nan", pair(npy("<f4", (1, 1), struct.pack("<I", 0x7fc00000)), npy("<i8", (1,), struct.pack("<q", 0))))
put("npy", "negative_label", pair(X, npy("<i8", (3,), struct.pack("<3q", 0, -1, 2))))
put("npy", "big_endian", pair(npy(">f4", (3, 4), bytes(48)), y))
put("npy", "count_mismatch", pair(X, npy("<i8", (2,), struct.pack("<2q", 0, 1))))

# ---- network files: every preset as `entropic model show` writes it, and the fixture
cli = sys.argv[1] if len(sys.argv) > 1 else "build/entropic"
for p in ("tiny-mnistfc", "small-lenet", "mnistfc", "lenet", "allcnn", "resnet18"):
    inp = "3x32x32" if p in ("allcnn", "resnet18") else "1x28x28"
    out = subprocess.run([cli, "model", "show", p, "--input", inp], capture_output=True, text=True, check=True).stdout
    put("net", p, out)
with open("tests/fixtures/resblock.json") as f:
    put("net", "resblock", f.read())
put("net", "unknown_kind", '{"name":"x","nodes":[{"name":"a","kind":"fancy"}]}')
put("net", "cycle", '{"name":"x","nodes":[{"name":"a","kind":"relu","inputs":["b"]},{"name":"b","kind":"relu","inputs":["a"]}]}')
