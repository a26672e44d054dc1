#!/usr/bin/env python3
"""Reference fixtures for attn: every step of all-MiniLM-L6-v2, as computed by
Hugging Face transformers.

The Swift tests in Tests/AttnCoreTests compare attn's own forward pass, step by
step, against the arrays written here. This script is the record of how those
fixtures were made; rerun it to regenerate them (see Tests/Reference/README.md).

Usage:
    python Tests/Reference/minilm_steps.py [MODEL_DIR] [OUT_DIR]

    MODEL_DIR  directory with config.json, model.safetensors, tokenizer.json,
               vocab.txt (default: /root/.cache/attn/models/minilm)
    OUT_DIR    where to write the fixtures
               (default: <repo>/Tests/AttnCoreTests/Fixtures/minilm)

Output layout (T = number of tokens including [CLS] and [SEP]; all arrays are
float32 little-endian '<f4', C order, written with np.save):

    OUT/sentences.json          library versions + per sentence name/text/ids/tokens
    OUT/s{n}/embeddings.npy     (T, 384)        output of model.embeddings
    OUT/s{n}/x.npy              (6, T, 384)     hidden state entering layer L (x[0] == embeddings)
    OUT/s{n}/q.npy, k.npy, v.npy (6, 12, T, 32) query/key/value Linear outputs, split into heads
                                                (head h = columns h*32 ..< h*32+32)
    OUT/s{n}/scores.npy         (6, 12, T, T)   q @ k^T
    OUT/s{n}/scaled.npy         (6, 12, T, T)   scores / sqrt(32)
    OUT/s{n}/masked.npy         (6, 12, T, T)   scaled + additive attention mask (all zeros here)
    OUT/s{n}/weights.npy        (6, 12, T, T)   softmax(masked), taken from the model (output_attentions)
    OUT/s{n}/z.npy              (6, 12, T, 32)  weights @ v, per head
    OUT/s{n}/concat.npy         (6, T, 384)     heads concatenated (output of attention.self)
    OUT/s{n}/attn_out.npy       (6, T, 384)     attention.output.dense (before residual)
    OUT/s{n}/attn_norm.npy      (6, T, 384)     LayerNorm(attn_out + x)
    OUT/s{n}/ffn_hidden.npy     (6, T, 1536)    intermediate.dense, BEFORE GELU
    OUT/s{n}/ffn_act.npy        (6, T, 1536)    GELU(ffn_hidden) (exact erf GELU)
    OUT/s{n}/ffn_out.npy        (6, T, 384)     output.dense (before residual)
    OUT/s{n}/out.npy            (6, T, 384)     layer output LayerNorm(ffn_out + attn_norm)
    OUT/s{n}/pooled_mean.npy    (384,)          mean over tokens of out[5] (no normalisation)
"""

import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np
import tokenizers
import torch
import transformers
from tokenizers import Tokenizer
from transformers import AutoTokenizer, BertModel

# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_DIR = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/root/.cache/attn/models/minilm")
OUT_DIR = Path(sys.argv[2]) if len(sys.argv) > 2 else REPO_ROOT / "Tests/AttnCoreTests/Fixtures/minilm"

# Keep these exactly: the Swift tests refer to them by name (s0, s1, s2).
SENTENCES = [
    ("s0", "the cat sat on the mat"),
    ("s1", "Attention is all you need."),
    ("s2", 'Tokenizers split "unbelievable" words: ##ing, café & 東京!'),
]

# Fixed thread count so reruns produce the same bits (BLAS reductions can
# otherwise be split differently).
torch.set_num_threads(1)
torch.manual_seed(0)


def f32(t) -> np.ndarray:
    """torch tensor / ndarray -> C-ordered little-endian float32 ndarray."""
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().numpy()
    return np.ascontiguousarray(np.asarray(t, dtype="<f4"))


def first(output):
    """Some modules (e.g. BertSelfAttention) return (tensor, attn_weights)."""
    return output[0] if isinstance(output, (tuple, list)) else output


def assert_close(name, a, b, atol):
    diff = (a - b).abs().max().item()
    assert diff <= atol, f"{name}: max |diff| = {diff:.3e} > {atol:.0e}"
    return diff


# --------------------------------------------------------------------------
# Model and tokenizer
# --------------------------------------------------------------------------

# `dtype=` replaced `torch_dtype=` in newer transformers; support both.
_major = int(transformers.__version__.split(".")[0])
_dtype_kw = {"dtype": torch.float32} if _major >= 5 else {"torch_dtype": torch.float32}
# attn_implementation="eager": the plain matmul/softmax path, so that
# output_attentions returns the real softmax weights (SDPA would not).
model = BertModel.from_pretrained(str(MODEL_DIR), attn_implementation="eager", **_dtype_kw)
model.eval()
cfg = model.config
N_LAYERS = cfg.num_hidden_layers                    # 6
N_HEADS = cfg.num_attention_heads                   # 12
D_MODEL = cfg.hidden_size                           # 384
D_HEAD = D_MODEL // N_HEADS                         # 32
assert (N_LAYERS, N_HEADS, D_MODEL, D_HEAD, cfg.intermediate_size) == (6, 12, 384, 32, 1536)
assert model.dtype == torch.float32

# The raw tokenizers.Tokenizer. NOTE: this model's tokenizer.json (from
# sentence-transformers) enables fixed padding to 128 and truncation at 128.
# transformers turns those off for an ordinary `tokenizer(text)` call, so we do
# the same here to get the plain [CLS] ... [SEP] sequence.
tok = Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
tok.no_padding()
tok.no_truncation()
# The transformers tokenizer, only to confirm the ids are the same as HF's.
hf_tok = AutoTokenizer.from_pretrained(str(MODEL_DIR))

# --------------------------------------------------------------------------
# Hooks: record what each submodule produces during one forward pass
# --------------------------------------------------------------------------

rec: dict = {}          # rec[(name, layer)] = tensor (batch dim removed)
handles = []


def save_output(name, layer=None):
    def hook(module, args, output):
        rec[(name, layer)] = first(output)[0].detach().clone()
    return hook


def save_layer_input(layer):
    def hook(module, args, kwargs):
        hs = args[0] if args else kwargs["hidden_states"]
        rec[("x", layer)] = hs[0].detach().clone()
    return hook


def save_attention_mask(layer):
    # The additive mask the model actually hands to self-attention. For an
    # unpadded single sentence transformers 5.x passes None (no mask at all).
    def hook(module, args, kwargs):
        m = kwargs.get("attention_mask", args[1] if len(args) > 1 else None)
        rec[("mask", layer)] = None if m is None else m.detach().clone()
    return hook


handles.append(model.embeddings.register_forward_hook(save_output("embeddings")))
for L, layer in enumerate(model.encoder.layer):
    att = layer.attention
    handles += [
        layer.register_forward_pre_hook(save_layer_input(L), with_kwargs=True),
        att.self.register_forward_pre_hook(save_attention_mask(L), with_kwargs=True),
        # q/k/v: hook the nn.Linear modules directly; robust across versions.
        att.self.query.register_forward_hook(save_output("q_lin", L)),
        att.self.key.register_forward_hook(save_output("k_lin", L)),
        att.self.value.register_forward_hook(save_output("v_lin", L)),
        att.self.register_forward_hook(save_output("concat", L)),
        att.output.dense.register_forward_hook(save_output("attn_out", L)),
        att.output.register_forward_hook(save_output("attn_norm", L)),
        layer.intermediate.dense.register_forward_hook(save_output("ffn_hidden", L)),
        layer.intermediate.register_forward_hook(save_output("ffn_act", L)),
        layer.output.dense.register_forward_hook(save_output("ffn_out", L)),
        layer.register_forward_hook(save_output("out", L)),
    ]


def split_heads(t):
    """(T, 384) -> (12, T, 32); head h = columns h*32 ..< h*32+32."""
    T = t.shape[0]
    return t.view(T, N_HEADS, D_HEAD).transpose(0, 1).contiguous()


# --------------------------------------------------------------------------
# Run every sentence
# --------------------------------------------------------------------------

OUT_DIR.mkdir(parents=True, exist_ok=True)
sentence_records = []

for name, text in SENTENCES:
    enc = tok.encode(text)
    ids, tokens = list(enc.ids), list(enc.tokens)
    hf_ids = hf_tok(text)["input_ids"]
    assert ids == hf_ids, f"{name}: tokenizers {ids} != transformers {hf_ids}"
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    T = len(ids)

    rec.clear()
    input_ids = torch.tensor([ids], dtype=torch.long)
    with torch.no_grad():
        # attention_mask of ones = "no padding" (what the tokenizer returns);
        # token_type_ids default to zeros.
        result = model(input_ids, attention_mask=torch.ones_like(input_ids), output_attentions=True)

        arrays = {"embeddings": rec[("embeddings", None)]}
        stack = lambda key: torch.stack([rec[(key, L)] for L in range(N_LAYERS)])
        for key in ["x", "concat", "attn_out", "attn_norm", "ffn_hidden", "ffn_act", "ffn_out", "out"]:
            arrays[key] = stack(key)

        q = torch.stack([split_heads(rec[("q_lin", L)]) for L in range(N_LAYERS)])  # (6,12,T,32)
        k = torch.stack([split_heads(rec[("k_lin", L)]) for L in range(N_LAYERS)])
        v = torch.stack([split_heads(rec[("v_lin", L)]) for L in range(N_LAYERS)])

        # Additive mask as a (6, 1, T, T) float tensor; zeros when the model used none.
        masks = []
        for L in range(N_LAYERS):
            m = rec[("mask", L)]
            if m is None:
                m = torch.zeros(T, T)
            elif m.dtype == torch.bool:          # True = attend
                m = torch.zeros(m.shape).masked_fill(~m, torch.finfo(torch.float32).min)
            masks.append(m.float().reshape(-1, T, T)[0])   # (T, T), batch/heads broadcast
        mask = torch.stack(masks)[:, None]                 # (6, 1, T, T)
        assert mask.abs().max().item() == 0.0, "unpadded sentence should have an all-zero mask"

        scores = q @ k.transpose(-1, -2)                   # (6,12,T,T)
        # HF's eager path multiplies by scaling = 32**-0.5; we divide by sqrt(32)
        # as written in the notebook. The two differ by at most ~1 ulp.
        scaled = scores / math.sqrt(D_HEAD)
        masked = scaled + mask

        # Weights straight from the model; check they are softmax(masked).
        weights = torch.stack([a[0] for a in result.attentions])   # (6,12,T,T)
        d_w = assert_close(f"{name} weights vs softmax(masked)", weights, torch.softmax(masked, dim=-1), 1e-6)

        z = weights @ v                                     # (6,12,T,32)
        z_cat = z.transpose(1, 2).reshape(N_LAYERS, T, D_MODEL)
        d_z = assert_close(f"{name} concat(z) vs hooked concat", z_cat, arrays["concat"], 1e-5)

        # Further consistency checks of the recorded chain (cheap, catch hook mistakes).
        assert torch.equal(arrays["x"][0], arrays["embeddings"])
        for L in range(1, N_LAYERS):
            assert torch.equal(arrays["x"][L], arrays["out"][L - 1])
        assert torch.equal(arrays["out"][-1], result.last_hidden_state[0])
        for L, layer in enumerate(model.encoder.layer):
            ln1, ln2 = layer.attention.output.LayerNorm, layer.output.LayerNorm
            assert_close("attn_norm", ln1(arrays["attn_out"][L] + arrays["x"][L]), arrays["attn_norm"][L], 1e-5)
            assert_close("ffn_act", torch.nn.functional.gelu(arrays["ffn_hidden"][L]), arrays["ffn_act"][L], 1e-6)
            assert_close("out", ln2(arrays["ffn_out"][L] + arrays["attn_norm"][L]), arrays["out"][L], 1e-5)

        arrays.update(q=q, k=k, v=v, scores=scores, scaled=scaled, masked=masked, weights=weights, z=z)
        arrays["pooled_mean"] = arrays["out"][-1].mean(dim=0)

    sdir = OUT_DIR / name
    sdir.mkdir(parents=True, exist_ok=True)
    for key, t in arrays.items():
        np.save(sdir / f"{key}.npy", f32(t))

    print(f"{name}: T={T}  max|weights-softmax|={d_w:.2e}  max|concat(z)-concat|={d_z:.2e}")
    print(f"    tokens: {tokens}")
    sentence_records.append({"name": name, "text": text, "ids": ids, "tokens": tokens})

for h in handles:
    h.remove()

# --------------------------------------------------------------------------
# sentences.json: what was run, and with which libraries
# --------------------------------------------------------------------------

sha = hashlib.sha256((MODEL_DIR / "model.safetensors").read_bytes()).hexdigest()
meta = {
    "transformers": transformers.__version__,
    "torch": torch.__version__,
    "tokenizers": tokenizers.__version__,
    "numpy": np.__version__,
    "model_safetensors_sha256": sha,
    "attn_implementation": "eager",
    "sentences": sentence_records,
}
with open(OUT_DIR / "sentences.json", "w", encoding="utf-8") as f:
    json.dump(meta, f, ensure_ascii=False, indent=2)
    f.write("\n")
print(f"wrote {OUT_DIR}")
