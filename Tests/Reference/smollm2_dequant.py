"""Dequantized rows of SmolLM2-135M-Instruct.Q4_1.gguf (and, with `--gemma3`, of
gemma-3-270m-q4_k_m.gguf into Fixtures/gemma3-dequant.json), for the Swift GGUF parity tests.

The Python `gguf` package (llama.cpp's own gguf-py) reads the file and dequantizes a few rows
of tensors of every type in it with `gguf.quants.dequantize`, and the values go into
Tests/AttnCoreTests/Fixtures/smollm2-dequant.json:

    {"gguf": "0.19.0", "numpy": "2.4.6", "file": "SmolLM2-135M-Instruct.Q4_1.gguf",
     "cases": [{"tensor": "token_embd.weight", "type": "Q8_0", "dimensions": [576, 49152],
                "row": 0, "values": [-0.0279541015625, ...]}, ...]}

`dimensions` are in ggml order (ne0 first); a row is `ne0` consecutive elements, row r of a
2-D tensor being row r of the `ne1 × ne0` matrix attn's `GGUFFile.matrix` returns. Each value is
a float32 written as the shortest decimal that reads back as the same double (Python's repr), so
the Swift test can demand bit-for-bit equality. `GGUFTests.swift` compares; Python runs once,
here, and the committed fixture is all the tests need.

Usage, from the repository root (a venv outside the repository):

    python3 -m venv /tmp/ggufvenv && /tmp/ggufvenv/bin/pip install gguf==0.19.0
    /tmp/ggufvenv/bin/python Tests/Reference/smollm2_dequant.py [GGUF_FILE] [OUT_FILE]
    /tmp/ggufvenv/bin/python Tests/Reference/smollm2_dequant.py --gemma3 [GGUF_FILE] [OUT_FILE]

GGUF_FILE defaults to $ATTN_MODELS/smollm2/..., $XDG_CACHE_HOME/attn/models/smollm2/... or
~/.cache/attn/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf (where `attn fetch smollm2` puts it).
"""

import json
import os
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

REPO = Path(__file__).resolve().parents[2]
FILE_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"

# (tensor, rows): the Q8_0 embedding (a far row too), Q4_1 weights of the first and last
# layer, and an F32 norm.
CASES = [
    ("token_embd.weight", [0, 1, 2, 3, 1000]),
    ("blk.0.attn_q.weight", [0, 1, 2, 3]),
    ("blk.29.ffn_down.weight", [0, 1]),
    ("blk.0.attn_norm.weight", [0]),
]


# Gemma 3 270M Q4_K_M: the Q8_0 embedding, a Q5_0 query, Q4_K output, Q6_K and Q4_K feed-forward
# downs, a Q8_0 and a Q5_0 value, and the F32 norms (as the converter stored them: 1 + w).
GEMMA_FILE_NAME = "gemma-3-270m-q4_k_m.gguf"
GEMMA_CASES = [
    ("token_embd.weight", [0, 2, 1000, 262143]),
    ("blk.0.attn_q.weight", [0, 1023]),
    ("blk.0.attn_output.weight", [0, 639]),
    ("blk.0.ffn_down.weight", [0, 639]),
    ("blk.2.ffn_down.weight", [0]),
    ("blk.0.attn_v.weight", [0]),
    ("blk.2.attn_v.weight", [255]),
    ("blk.0.attn_q_norm.weight", [0]),
    ("blk.17.post_ffw_norm.weight", [0]),
]


def default_file(model: str = "smollm2", name: str = FILE_NAME) -> Path:
    if os.environ.get("ATTN_MODELS"):
        root = Path(os.environ["ATTN_MODELS"])
    elif os.environ.get("XDG_CACHE_HOME"):
        root = Path(os.environ["XDG_CACHE_HOME"]) / "attn" / "models"
    else:
        root = Path.home() / ".cache" / "attn" / "models"
    return root / model / name


def main() -> None:
    arguments = sys.argv[1:]
    gemma = bool(arguments) and arguments[0] == "--gemma3"
    if gemma:
        arguments = arguments[1:]
    source = Path(arguments[0]) if arguments else (default_file("gemma3", GEMMA_FILE_NAME) if gemma else default_file())
    fixture_name = "gemma3-dequant.json" if gemma else "smollm2-dequant.json"
    out = Path(arguments[1]) if len(arguments) > 1 else REPO / "Tests/AttnCoreTests/Fixtures" / fixture_name

    reader = GGUFReader(source)
    tensors = {t.name: t for t in reader.tensors}
    cases = []
    for name, rows in (GEMMA_CASES if gemma else CASES):
        tensor = tensors[name]
        dimensions = [int(n) for n in tensor.shape]  # ggml order: ne0 first
        # tensor.data holds the raw blocks, one numpy row per ggml row (ne1 rows for 2-D);
        # dequantize returns float32 of shape (rows, ne0).
        raw = np.asarray(tensor.data)
        if raw.ndim == 1:
            raw = raw.reshape(1, -1)
        for row in rows:
            values = dequantize(raw[row : row + 1], tensor.tensor_type).reshape(-1)
            assert values.dtype == np.float32 and values.shape == (dimensions[0],), (name, values.shape)
            cases.append({
                "tensor": name,
                "type": tensor.tensor_type.name,
                "dimensions": dimensions,
                "row": row,
                # float32 → Python float is exact; repr round-trips that double exactly.
                "values": [float(v) for v in values],
            })

    fixture = {
        "gguf": version("gguf"),
        "numpy": np.__version__,
        "file": source.name,
        "cases": cases,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {out}: {len(cases)} rows, {sum(len(c['values']) for c in cases)} values")


if __name__ == "__main__":
    main()
