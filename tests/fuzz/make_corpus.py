#!/usr/bin/env python3
"""make_corpus.py: the hand-made seeds of tests/fuzz/corpus/ (run from the
repository root; the files are committed, so this runs only to add seeds).
Real files come from the build: `entropic model show` for network files,
tests/fixtures for a PyTorch safetensors file. Two-file targets (idx,
idx_gzip, npy, vocab) take one input: 2 bytes (little-endian) of the first
file's length, the first file, the second (tests/fuzz/fuzz.h); words takes
three files as pair(train, pair(valid, test)).
Arguments: [CLI [TARGET...]]: with targets named, only their seeds are
written (a new target's seeds, leaving the committed ones as they are)."""
import gzip, json, os, struct, subprocess, sys

root = "tests/fuzz/corpus"
only = set(sys.argv[2:])

def put(target, name, data):
    if only and target not in only:
        return
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
for p in ("tiny-mnistfc", "small-lenet", "mnistfc", "lenet", "allcnn", "resnet18") if not only or "net" in only else ():
    inp = "3x32x32" if p in ("allcnn", "resnet18") else "1x28x28"
    out = subprocess.run([cli, "model", "show", p, "--input", inp], capture_output=True, text=True, check=True).stdout
    put("net", p, out)
with open("tests/fixtures/resblock.json") as f:
    put("net", "resblock", f.read())
put("net", "unknown_kind", '{"name":"x","nodes":[{"name":"a","kind":"fancy"}]}')
put("net", "cycle", '{"name":"x","nodes":[{"name":"a","kind":"relu","inputs":["b"]},{"name":"b","kind":"relu","inputs":["a"]}]}')

# ---- text: the first lines of the Brown corpus files scripts/setup.sh makes
brown_txt = ("The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced "
             "`` no evidence '' that any irregularities took place .\nThe jury further said in term-end presentments "
             "that the City Executive Committee , which had over-all charge of the election , `` deserves the praise "
             "and thanks of the City of Atlanta '' for the manner in which the election was conducted .\n")
ptb_train = ("the fulton county grand jury said friday an investigation of <unk> recent primary election produced `` no "
             "evidence '' that any <unk> took place .\nthe jury further said in <unk> <unk> that the city executive "
             "committee , which had over-all charge of the election , `` deserves the praise and thanks of the city of "
             "atlanta '' for the manner in which the election was conducted .\n")
ptb_valid = ("city controller alexander <unk> charged tuesday that the <unk> on the <unk> elevated repair project were "
             "<unk> to the advantage of a private <unk> company which had `` an inside track '' with the city .\n"
             "estimates of the city's loss in the <unk> job have ranged as high as <unk> .\n")
ptb_test = ("<unk> g. <unk> has been appointed temporary assistant district attorney , it was announced monday by "
            "charles e. raymond , district attorney .\n<unk> will replace <unk> d. <unk> who has been called to active "
            "military service but is expected back on the job by march 31 .\n")

# ---- fuzz_text: one UTF-8 file (80/10/10 of its characters; each split needs 2)
put("text", "brown_lines", brown_txt)
put("text", "multilingual", "h\u00e9llo w\u00f6rld \u2014 \u65e5\u672c\u8a9e \U0001F600 \u0394\u03b5\u03bb\u03c4\u03b1\n" * 2)
put("text", "bom", b"\xef\xbb\xbf" + b"a plain line after a byte order mark\n")
put("text", "crlf", "line one\r\nline two\r\nline three\r\n")
put("text", "empty_lines", "\n\n\nab\n\n\n\ncd\n\n\n\n\n\n\n\n\n\n\n\n\n")
put("text", "control_chars", "\x01\x02\x1f\x7f\t\v\f\x1b[0m \u0085\u2028\u2029\ufeff\ufffd" * 2)
put("text", "one_char", "a" * 20)
put("text", "too_short", "abcdefghijklmnopqrs")  # 19 characters: the test split gets 1
put("text", "empty", b"")
put("text", "invalid_byte", b"abcdefghijklmnopqrstuvwxyz\xffabc")
put("text", "overlong", b"abcdefghijklmnopqrstuvwxyz\xc0\xaf\xe0\x80\xaf\xf0\x80\x80\xaf")  # '/' in 2, 3, 4 bytes
put("text", "surrogate", b"abcdefghijklmnopqrstuvwxyz\xed\xa0\x80\xed\xbf\xbf")  # U+D800, U+DFFF
put("text", "above_max", b"abcdefghijklmnopqrstuvwxyz\xf4\x90\x80\x80")  # U+110000
put("text", "cut_sequence", b"abcdefghijklmnopqrstuvwxyz\xf0\x9f\x98")
put("text", "nul", b"abcdefghijklm\x00nopqrstuvwxyz")
put("text", "edge_code_points", "\u007f\u0080\u07ff\u0800\ud7ff\ue000\uffff\U00010000\U0010FFFF".encode() * 3)

# ---- fuzz_words: ptb.train.txt, ptb.valid.txt, ptb.test.txt
words = lambda train, valid, test: pair(train.encode() if isinstance(train, str) else train,
                                        pair(valid.encode() if isinstance(valid, str) else valid,
                                             test.encode() if isinstance(test, str) else test))
put("words", "ptb_lines", words(ptb_train, ptb_valid, ptb_test))  # valid has words train lacks
put("words", "ptb_loads", words(ptb_train + ptb_valid + ptb_test, ptb_valid, ptb_test))
put("words", "only_unk", words("<unk>\n<unk> <unk>\n", "<unk>\n", "<unk> <unk>"))
put("words", "eos_word", words("a <eos> b\n<eos>\n", "<eos> a\n", "b\n"))
put("words", "long_word", words("w" * 5000 + " a\n", "a " + "w" * 5000 + "\n", "a\n"))
put("words", "crlf", words("a b\r\nc d\r\n", "a\r\nb\r\n", "c d\r\n"))
put("words", "bom", words(b"\xef\xbb\xbfa b\na\n", b"a b\n", b"\xef\xbb\xbfa\n"))
put("words", "empty_lines", words("\n\n\na\n\n", "\n\n", "a\n\n\n"))
put("words", "no_final_newline", words("a b c", "a", "b c"))
put("words", "white_space", words("a\tb\vc\fd  e\n", "a\t\tb\n", "\v\fc\n"))
put("words", "unicode_space", words("a\u00a0b c\u3000d\n", "c\u3000d a\u00a0b\n", "c\n"))
put("words", "unknown_word", words("a b\n", "a c\n", "b\n"))
put("words", "empty_valid", words("a b\n", "", "a\n"))
put("words", "invalid_utf8", words(b"a b\n", b"a \xff\n", b"b\n"))
put("words", "overlong", words(b"a \xc0\xaf b\n", b"a\n", b"b\n"))
put("words", "surrogate", words(b"a b\n", b"a\n", b"\xed\xa0\x80 b\n"))
put("words", "nul", words(b"a\x00b\n", b"a\n", b"b\n"))
put("words", "one_token", words("a", "a b\n", "a\n"))

# ---- fuzz_vocab: a checkpoint's vocabulary (entropic.vocab) and a priming text
voc = lambda kind, tokens, text, ascii=True: pair(json.dumps({"kind": kind, "tokens": tokens}, ensure_ascii=ascii).encode(),
                                                  text.encode() if isinstance(text, str) else text)
put("vocab", "chars", voc("chars", ["\n", " ", "a", "b", "\u00e9", "\U0001F600"], "ab \u00e9\n\U0001F600a", ascii=False))
put("vocab", "chars_escaped", voc("chars", ["\n", " ", "a", "b", "\u00e9", "\U0001F600"], "ba\u00e9\U0001F600\n"))
put("vocab", "control_chars", voc("chars", ["\x01", "\x1f", "\x7f", "\u0085", "\u2028", "\ufeff"], "\x01\x7f\u2028\ufeff"))
put("vocab", "words_eos", voc("words", ["<eos>", "the", "<unk>", "jury"], "the jury\n<unk>  the\n\njury"))
put("vocab", "words_no_eos", voc("words", ["a", "b"], "a b\na\tb"))
put("vocab", "words_ptb", voc("words", ["<eos>"] + sorted(set(ptb_train.split())), ptb_train))
put("vocab", "unknown_char", voc("chars", ["a"], "ab"))
put("vocab", "unknown_word", voc("words", ["a"], "a b"))
put("vocab", "invalid_text", voc("chars", ["a"], b"a\xff"))
put("vocab", "nul_token", pair(b'{"kind":"chars","tokens":["\\u0000"]}', b"a"))
put("vocab", "lone_surrogate", pair(b'{"kind":"chars","tokens":["\\udc00"]}', b"a"))
put("vocab", "raw_invalid", pair(b'{"kind":"words","tokens":["a\xff"]}', b"a"))
put("vocab", "duplicate", voc("words", ["a", "b", "a"], "a"))
put("vocab", "duplicate_newline", voc("chars", ["\n", "a", "\n"], "a"))
put("vocab", "two_chars", voc("chars", ["ab"], "ab"))
put("vocab", "word_with_space", voc("words", ["a b"], "a"))
put("vocab", "empty_token", voc("words", [""], "a"))
put("vocab", "bad_kind", voc("bytes", ["a"], "a"))
put("vocab", "no_tokens", voc("chars", [], "a"))
put("vocab", "unknown_key", pair(b'{"kind":"chars","tokens":["a"],"extra":1}', b"a"))
put("vocab", "not_strings", pair(b'{"kind":"chars","tokens":["a",1,null]}', b"a"))
put("vocab", "not_object", pair(b'["a"]', b"a"))
put("vocab", "empty", b"")
# found by fuzz_vocab (a key with a line end made a two-line message; fixed in src/data/vocab.c)
put("vocab", "key_newline", pair(b'{"kind": "words", "tok\\ns": ["a", "b"]}', b" ba\na\tb"))
