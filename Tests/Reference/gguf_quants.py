"""Blocks of every block type attn dequantizes, and what the Python `gguf` package makes of them.

For each type, deterministic blocks go through `gguf.quants.dequantize` (llama.cpp's gguf-py,
the same arithmetic as ggml's `dequantize_row_*`), and bytes and floats go into
Tests/AttnCoreTests/Fixtures/gguf-quants.json:

    {"gguf": "0.19.0", "numpy": "2.4.6",
     "cases": [{"type": "Q4_K", "source": "random", "blocks": 8, "elements": 2048,
                "bytes": "d8a1…", "values": "3f8a0000…"}, ...]}

`bytes` is the blocks' bytes in hex; `values` is every float32 result as 8 hex digits of its bit
pattern (the uint32, most significant digit first), so the Swift test can demand equal bits.
Three sources of blocks, each case seeded by the type's ggml id, so that adding a type changes
no other case:

- "random": 8 blocks of `default_rng(id).bytes`. An fp16 field (d, dmin, m) whose exponent bits
  are all ones (inf or nan) gets its top exponent bit cleared, which makes it finite (exponent 15);
  every other bit stays random, so scales range from subnormal to 65504 and every quant, 6-bit
  scale and high bit takes random values. BF16 is 64 random elements, fixed the same way.
- "typical": 8 more random blocks whose fp16 fields are ±10^u, u uniform in [−4, −1], the size of
  the scales in real K-quant files, where d·q and dmin·m are close and the final subtraction rounds.
- "quantized": two rows of 256 real-looking floats (normal, σ 0.02, a few outliers, one block of
  zeros) through `gguf.quants.quantize`, for the types gguf-py can quantize (Q4_0, Q4_1, Q5_0,
  Q5_1, Q8_0, BF16; it has no K-quant quantizer).

`DequantizationTests.swift` writes each case's bytes into a GGUF file and expects `GGUFFile` to
give the same bits. Python runs once, here; the committed fixture is all the tests need.

Usage, from the repository root (a venv outside the repository):

    python3 -m venv /tmp/ggufvenv && /tmp/ggufvenv/bin/pip install gguf==0.19.0
    /tmp/ggufvenv/bin/python Tests/Reference/gguf_quants.py [OUT_FILE]
"""

import json
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

REPO = Path(__file__).resolve().parents[2]

# Each type and the byte offsets of its fp16 fields in a block (ggml's block_<type> structs).
FP16_FIELDS = {
    T.Q4_0: [0],          # d │ qs[16]
    T.Q4_1: [0, 2],       # d │ m │ qs[16]
    T.Q5_0: [0],          # d │ qh[4] │ qs[16]
    T.Q5_1: [0, 2],       # d │ m │ qh[4] │ qs[16]
    T.Q8_0: [0],          # d │ qs[32]
    T.Q2_K: [80, 82],     # scales[16] │ qs[64] │ d │ dmin
    T.Q3_K: [108],        # hmask[32] │ qs[64] │ scales[12] │ d
    T.Q4_K: [0, 2],       # d │ dmin │ scales[12] │ qs[128]
    T.Q5_K: [0, 2],       # d │ dmin │ scales[12] │ qh[32] │ qs[128]
    T.Q6_K: [208],        # ql[128] │ qh[64] │ scales[16] │ d
}
BLOCKS = 8
BF16_ELEMENTS = 64


def finite(bits: np.ndarray, exponent_mask: int) -> np.ndarray:
    """Half or bfloat16 bit patterns with inf and nan made finite: exponent all ones → top bit cleared."""
    return np.where(bits & exponent_mask == exponent_mask, bits & ~np.uint16(0x4000), bits).astype(np.uint16)


def set_fields(blocks: np.ndarray, offsets: list[int], bits: np.ndarray) -> None:
    """Writes column i of `bits` (uint16) as the little-endian fp16 field at offsets[i] of each block."""
    for i, offset in enumerate(offsets):
        blocks[:, offset:offset + 2] = bits[:, i:i + 1].astype("<u2").view(np.uint8)


def field_bits(blocks: np.ndarray, offsets: list[int]) -> np.ndarray:
    return np.stack([blocks[:, o:o + 2].copy().view("<u2")[:, 0] for o in offsets], axis=1)


def random_blocks(qtype: T) -> np.ndarray:
    rng = np.random.default_rng(qtype.value)
    if qtype == T.BF16:
        bits = np.frombuffer(rng.bytes(2 * BF16_ELEMENTS), dtype="<u2")
        return finite(bits, 0x7F80).astype("<u2").view(np.uint8).reshape(1, -1)
    _, type_size = GGML_QUANT_SIZES[qtype]
    blocks = np.frombuffer(rng.bytes(BLOCKS * type_size), dtype=np.uint8).reshape(BLOCKS, type_size).copy()
    offsets = FP16_FIELDS[qtype]
    set_fields(blocks, offsets, finite(field_bits(blocks, offsets), 0x7C00))
    return blocks


def typical_blocks(qtype: T) -> np.ndarray:
    rng = np.random.default_rng([qtype.value, 1])
    _, type_size = GGML_QUANT_SIZES[qtype]
    blocks = np.frombuffer(rng.bytes(BLOCKS * type_size), dtype=np.uint8).reshape(BLOCKS, type_size).copy()
    offsets = FP16_FIELDS[qtype]
    magnitudes = 10.0 ** rng.uniform(-4, -1, size=(BLOCKS, len(offsets)))
    signs = rng.choice([-1.0, 1.0], size=(BLOCKS, len(offsets)))
    set_fields(blocks, offsets, (signs * magnitudes).astype(np.float16).view(np.uint16))
    return blocks


def real_looking_rows() -> np.ndarray:
    """Two rows of 256 weights: normal with σ 0.02, a few outliers, and a block of 32 zeros."""
    rng = np.random.default_rng(2026)
    rows = (rng.standard_normal((2, 256)) * 0.02).astype(np.float32)
    rows[0, [7, 100, 201]] = [0.31, -0.27, 0.5]
    rows[1, 64:96] = 0
    return rows


def case(qtype: T, source: str, blocks: np.ndarray) -> dict:
    values = dequantize(blocks, qtype)
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    assert values.dtype == np.float32 and values.size == blocks.size // type_size * block_size
    assert np.isfinite(values).all(), (qtype.name, source)
    return {
        "type": qtype.name,
        "source": source,
        "blocks": blocks.size // type_size,
        "elements": int(values.size),
        "bytes": blocks.tobytes().hex(),
        "values": "".join(f"{v:08x}" for v in values.reshape(-1).view(np.uint32)),
    }


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "Tests/AttnCoreTests/Fixtures/gguf-quants.json"
    cases = []
    for qtype in [T.BF16, *FP16_FIELDS]:
        cases.append(case(qtype, "random", random_blocks(qtype)))
        if qtype != T.BF16:
            cases.append(case(qtype, "typical", typical_blocks(qtype)))
        try:
            quantized = quantize(real_looking_rows(), qtype)
        except NotImplementedError:
            continue
        cases.append(case(qtype, "quantized", quantized))

    fixture = {"gguf": version("gguf"), "numpy": np.__version__, "cases": cases}
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w") as f:
        # One case a line, so that a diff of a regenerated fixture names the cases that changed.
        f.write(f'{{"gguf":{json.dumps(fixture["gguf"])},"numpy":{json.dumps(fixture["numpy"])},"cases":[\n')
        f.write(",\n".join(json.dumps(c, separators=(",", ":")) for c in cases))
        f.write("\n]}\n")
    print(f"wrote {out}: {len(cases)} cases, {sum(c['blocks'] for c in cases)} blocks, "
          f"{sum(c['elements'] for c in cases)} values")


if __name__ == "__main__":
    main()
