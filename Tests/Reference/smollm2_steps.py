#!/usr/bin/env python3
"""Reference fixtures for attn: every step of SmolLM2-135M-Instruct (a llama
decoder, loaded from its Q4_1 GGUF), as computed by Hugging Face transformers.

The Swift tests in Tests/AttnCoreTests compare attn's own forward pass, step by
step, against the arrays written here. This script is the record of how those
fixtures were made; rerun it to regenerate them (see Tests/Reference/README.md).

Usage:
    python Tests/Reference/smollm2_steps.py [MODEL_DIR] [OUT_DIR]

    MODEL_DIR  directory holding SmolLM2-135M-Instruct.Q4_1.gguf (default:
               $ATTN_MODELS/smollm2, else $XDG_CACHE_HOME/attn/models/smollm2,
               else ~/.cache/attn/models/smollm2)
    OUT_DIR    where to write the fixtures
               (default: <repo>/Tests/AttnCoreTests/Fixtures/smollm2)

How transformers turns the GGUF into float32 weights (transformers 5.23, gguf 0.19)
------------------------------------------------------------------------------
`llama` is not one of the architectures of the new packed-GGUF path
(integrations/gguf, GGUF_ARCHS = qwen35/qwen35moe/lfm2), so it goes through the
legacy loader `modeling_gguf_pytorch_utils.load_gguf_checkpoint`: every tensor is
dequantized with gguf-py's `gguf.dequantize` (numpy, float32) and then cast to the
requested dtype. All Linear/Embedding modules stay plain nn.Linear/nn.Embedding
holding float32 (checked below).

  Q4_1 block (32 weights, 20 bytes): d:f16, m:f16, qs[16] bytes;
       w[j] = d * (qs[j] & 0xF) + m,  w[j+16] = d * (qs[j] >> 4) + m   (j < 16)
  Q8_0 block (32 weights, 34 bytes): d:f16, qs[32] int8;   w[j] = d * qs[j]
  (d*q is exact in float32 in both, so fused or separate multiply-add agree.)

In this file: token_embd is Q8_0 (and is also the output head: there is no
output.weight, so tie_word_embeddings = True); every attn_q/k/v/output and
ffn_gate/up/down is Q4_1; the norm weights are F32.

llama.cpp's converter permutes the rows of attn_q and attn_k so that RoPE can
rotate adjacent pairs (2i, 2i+1) of each head ("GPT-J / interleaved" layout);
HF llama rotates the halves (i, i+32) ("NeoX / rotate_half" layout).
`LlamaTensorProcessor._reverse_permute_weights` undoes it, per head, with

    dim = rows // n_head // 2                          # = head_dim / 2 = 32
    W_hf = W_gguf.reshape(n_head, dim, 2, cols).swapaxes(2, 1).reshape(rows, cols)

i.e. for head h, i in 0..<32, j in {0, 1}:

    W_hf[h*64 + j*32 + i, :] = W_gguf[h*64 + 2*i + j, :]

with n_head = 9 for attn_q and n_head = num_key_value_heads = 3 for attn_k
(attn_v, attn_output and the FFN are not touched). Rows here are output
features: numpy/torch (out, in), GGUF ne = [in, out]. The script re-derives this
from the raw GGUF bytes (own Q4_1 decoder + the formula above) and asserts it
matches the loaded q_proj/k_proj weights bit-for-bit.

So q_prerope/k_prerope/q/k below are in HF order: within a head, dims i and
i+32 form RoPE pair i (angle pos * inv_freq[i]). Code that keeps the GGUF row
order and rotates adjacent pairs (2i, 2i+1) gets the same numbers at GGUF dim
2i+j for HF dim j*32+i; scores and everything after them do not depend on the
order (up to summation order).

Output layout (T = number of prompt tokens; all arrays float32 little-endian
'<f4', C order, written with np.save; "4" = the recorded layers LAYERS below,
in that order; H = 9 query heads, KV = 3 kv heads, Dh = 64):

    OUT/prompts.json               versions, GGUF sha256, layers, per prompt: text, ids,
                                   tokens, bos_added, top5, greedy continuation
    OUT/p{n}/x.npy                 (4, T, 576)    hidden state entering layer L
    OUT/p{n}/rmsnorm.npy           (4, T, 576)    input_layernorm(x)
    OUT/p{n}/q_prerope.npy         (4, 9, T, 64)  q_proj(rmsnorm), head h = cols h*64..<h*64+64
    OUT/p{n}/k_prerope.npy         (4, 3, T, 64)  k_proj(rmsnorm), split the same way
    OUT/p{n}/v.npy                 (4, 3, T, 64)  v_proj(rmsnorm)
    OUT/p{n}/q.npy                 (4, 9, T, 64)  q after RoPE (rotate_half form, positions 0..T-1)
    OUT/p{n}/k.npy                 (4, 3, T, 64)  k after RoPE
    OUT/p{n}/scores.npy            (4, 9, T, T)   q @ k_rep^T, query head h uses kv head h // 3
    OUT/p{n}/scaled.npy            (4, 9, T, T)   scores / sqrt(64)  (== * 0.125 exactly)
    OUT/p{n}/masked.npy            (4, 9, T, T)   scaled, -inf strictly above the diagonal
    OUT/p{n}/weights.npy           (4, 9, T, T)   attention probabilities from the model
                                                  (output_attentions); == softmax(masked)
    OUT/p{n}/z.npy                 (4, 9, T, 64)  weights @ v_rep; heads concatenated
                                                  (T, 9*64) == the o_proj input
    OUT/p{n}/attn_out.npy          (4, T, 576)    o_proj output
    OUT/p{n}/attn_residual.npy     (4, T, 576)    x + attn_out
    OUT/p{n}/ffn_norm.npy          (4, T, 576)    post_attention_layernorm(attn_residual)
    OUT/p{n}/gate.npy, up.npy      (4, T, 1536)   gate_proj / up_proj outputs
    OUT/p{n}/ffn_act.npy           (4, T, 1536)   silu(gate) * up  (the down_proj input)
    OUT/p{n}/ffn_out.npy           (4, T, 576)    down_proj output
    OUT/p{n}/out.npy               (4, T, 576)    layer output = attn_residual + ffn_out
    OUT/p{n}/weights_all.npy       (30, 9, T, T)  attention probabilities of every layer
    OUT/p{n}/out_all.npy           (30, T, 576)   output of every layer
    OUT/p{n}/final_norm.npy        (T, 576)       model.norm(out_all[29])
    OUT/p{n}/logits_last.npy       (49152,)       lm_head output at the last position
    OUT/p{n}/rope_inv_freq.npy     (32,)          1 / 100000^(2i/64)
    OUT/p{n}/rope_cos.npy          (T, 64)        cos(pos * inv_freq), both halves (cat(f, f))
    OUT/p{n}/rope_sin.npy          (T, 64)        sin(pos * inv_freq), both halves
"""

import hashlib
import importlib.metadata
import json
import math
import os
import sys
from pathlib import Path

import gguf
import numpy as np
import tokenizers
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.models.llama import modeling_llama

# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[2]


def default_model_dir() -> Path:
    """$ATTN_MODELS/smollm2, else $XDG_CACHE_HOME/attn/models/smollm2, else
    ~/.cache/attn/models/smollm2 (where `attn fetch smollm2` puts the file)."""
    if os.environ.get("ATTN_MODELS"):
        return Path(os.environ["ATTN_MODELS"]) / "smollm2"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "attn/models/smollm2"


MODEL_DIR = Path(sys.argv[1]) if len(sys.argv) > 1 else default_model_dir()
OUT_DIR = Path(sys.argv[2]) if len(sys.argv) > 2 else REPO_ROOT / "Tests/AttnCoreTests/Fixtures/smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

# Keep these exactly: the Swift tests refer to them by name (p0, p1, p2).
PROMPTS = [
    ("p0", "The capital of France is"),
    ("p1", "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"),
    ("p2", "def fibonacci(n):"),
]
LAYERS = [0, 1, 14, 29]      # layers recorded step by step (first, second, middle, last)
N_NEW = 12                   # greedy continuation length

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
    """Some modules (e.g. LlamaAttention) return (tensor, attn_weights)."""
    return output[0] if isinstance(output, (tuple, list)) else output


def assert_close(name, a, b, atol):
    diff = (a - b).abs().max().item()
    assert diff <= atol, f"{name}: max |diff| = {diff:.3e} > {atol:.0e}"
    return diff


# --------------------------------------------------------------------------
# Model and tokenizer
# --------------------------------------------------------------------------

gguf_path = MODEL_DIR / GGUF_FILE
sha = hashlib.sha256(gguf_path.read_bytes()).hexdigest()
assert sha == GGUF_SHA256, f"unexpected GGUF: sha256 {sha}"

# attn_implementation="eager": the plain matmul/softmax path, so that
# output_attentions returns the real softmax weights (SDPA would not).
model = AutoModelForCausalLM.from_pretrained(
    str(MODEL_DIR), gguf_file=GGUF_FILE, dtype=torch.float32, attn_implementation="eager"
)
model.eval()
tok = AutoTokenizer.from_pretrained(str(MODEL_DIR), gguf_file=GGUF_FILE)

cfg = model.config
N_LAYERS = cfg.num_hidden_layers                    # 30
N_HEADS = cfg.num_attention_heads                   # 9
N_KV = cfg.num_key_value_heads                      # 3
D_MODEL = cfg.hidden_size                           # 576
D_HEAD = cfg.head_dim                               # 64
D_FFN = cfg.intermediate_size                       # 1536
VOCAB = cfg.vocab_size                              # 49152
GROUP = N_HEADS // N_KV                             # 3 query heads per kv head
assert (N_LAYERS, N_HEADS, N_KV, D_MODEL, D_HEAD, D_FFN, VOCAB) == (30, 9, 3, 576, 64, 1536, 49152)
assert cfg.rope_parameters == {"rope_theta": 100000.0, "rope_type": "default"}, cfg.rope_parameters
# The GGUF stores eps as float32(1e-5); transformers keeps that value as a Python float.
assert cfg.rms_norm_eps == float(np.float32(1e-5)), cfg.rms_norm_eps
assert cfg.tie_word_embeddings and cfg.hidden_act == "silu"
assert not cfg.attention_bias and not cfg.mlp_bias
assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
assert model.config._attn_implementation == "eager"
# Fully dequantized: ordinary float32 modules, no packed GGUF layers.
for name, module in model.named_modules():
    if hasattr(module, "weight") and isinstance(module.weight, torch.Tensor):
        assert type(module) in (torch.nn.Linear, torch.nn.Embedding, modeling_llama.LlamaRMSNorm), (name, type(module))
        assert module.weight.dtype == torch.float32, name

# --------------------------------------------------------------------------
# Check the GGUF -> HF weight mapping ourselves, from the raw file bytes
# --------------------------------------------------------------------------

reader = gguf.GGUFReader(str(gguf_path))
gguf_tensors = {t.name: t for t in reader.tensors}


def dequant_q4_1(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Own Q4_1 decoder: 20-byte blocks of (d:f16, m:f16, 16 bytes of nibbles)."""
    blocks = raw.reshape(-1, 20)
    d = blocks[:, 0:2].copy().view("<f2").astype(np.float32)          # (nb, 1)
    m = blocks[:, 2:4].copy().view("<f2").astype(np.float32)
    qs = blocks[:, 4:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32)  # low nibbles first
    return (d * q + m).reshape(rows, cols)


def unpermute(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF row h*64 + j*32 + i  <-  GGUF row h*64 + 2*i + j."""
    out = np.empty_like(w)
    half = w.shape[0] // n_head // 2
    for h in range(n_head):
        for i in range(half):
            for j in range(2):
                out[h * 2 * half + j * half + i] = w[h * 2 * half + 2 * i + j]
    return out


for L in (0, 29):
    attn = model.model.layers[L].self_attn
    for leaf, module, n_head in (("attn_q", attn.q_proj, N_HEADS), ("attn_k", attn.k_proj, N_KV)):
        t = gguf_tensors[f"blk.{L}.{leaf}.weight"]
        assert t.tensor_type == gguf.GGMLQuantizationType.Q4_1
        rows, cols = int(t.shape[1]), int(t.shape[0])               # ne = [in, out]
        w_gguf = dequant_q4_1(np.asarray(t.data, dtype=np.uint8), rows, cols)
        assert np.array_equal(w_gguf, gguf.dequantize(t.data, t.tensor_type))
        assert np.array_equal(unpermute(w_gguf, n_head), module.weight.detach().numpy()), f"{leaf} {L}"
        # ...and it really is a permutation, not the identity.
        assert not np.array_equal(w_gguf, module.weight.detach().numpy())
    for leaf, module in (("attn_v", attn.v_proj), ("attn_output", attn.o_proj)):
        t = gguf_tensors[f"blk.{L}.{leaf}.weight"]
        assert np.array_equal(gguf.dequantize(t.data, t.tensor_type), module.weight.detach().numpy()), f"{leaf} {L}"
t = gguf_tensors["token_embd.weight"]
assert t.tensor_type == gguf.GGMLQuantizationType.Q8_0 and "output.weight" not in gguf_tensors
assert np.array_equal(gguf.dequantize(t.data, t.tensor_type), model.lm_head.weight.detach().numpy())

# Which kv head serves query head h: repeat_kv (what eager attention uses) must
# map query head h to kv head h // GROUP.
_probe = torch.arange(N_KV, dtype=torch.float32).view(1, N_KV, 1, 1)
assert modeling_llama.repeat_kv(_probe, GROUP).flatten().tolist() == [h // GROUP for h in range(N_HEADS)]


def rep_kv(t):
    """(layers, KV, T, Dh) -> (layers, H, T, Dh), query head h <- kv head h // GROUP."""
    return t.repeat_interleave(GROUP, dim=1)


# --------------------------------------------------------------------------
# Hooks: record what each submodule produces during one forward pass
# --------------------------------------------------------------------------

rec: dict = {}          # rec[(name, layer)] = tensor (batch dim removed)
recording = False       # hooks only record during the main forward, not generate()


def save_output(name, layer=None):
    def hook(module, args, output):
        if recording:
            rec[(name, layer)] = first(output)[0].detach().clone()
    return hook


def save_input(name, layer=None):
    def hook(module, args):
        if recording:
            rec[(name, layer)] = args[0][0].detach().clone()
    return hook


def save_layer_input(layer):
    # The hidden state entering the decoder layer, plus the causal mask and the
    # (cos, sin) the model hands to every layer.
    def hook(module, args, kwargs):
        if recording:
            hs = args[0] if args else kwargs["hidden_states"]
            rec[("x", layer)] = hs[0].detach().clone()
            rec[("mask", layer)] = kwargs.get("attention_mask")
            rec[("pos_emb", layer)] = kwargs.get("position_embeddings")
    return hook


# apply_rotary_pos_emb is looked up in modeling_llama's globals at call time, so
# wrapping it lets us see the exact post-RoPE q and k the model used.
_orig_rope = modeling_llama.apply_rotary_pos_emb
_rope_calls: list = []


def recording_rope(q, k, cos, sin, *a, **kw):
    q_out, k_out = _orig_rope(q, k, cos, sin, *a, **kw)
    if recording:
        _rope_calls.append((q_out[0].detach().clone(), k_out[0].detach().clone()))
    return q_out, k_out


modeling_llama.apply_rotary_pos_emb = recording_rope

handles = [
    model.model.embed_tokens.register_forward_hook(save_output("embeddings")),
    model.model.norm.register_forward_hook(save_output("final_norm")),
    model.lm_head.register_forward_hook(save_output("logits")),
]
for L, layer in enumerate(model.model.layers):
    att, mlp = layer.self_attn, layer.mlp
    handles += [
        layer.register_forward_pre_hook(save_layer_input(L), with_kwargs=True),
        layer.input_layernorm.register_forward_hook(save_output("rmsnorm", L)),
        # q/k/v: hook the nn.Linear modules directly; robust across versions.
        att.q_proj.register_forward_hook(save_output("q_lin", L)),
        att.k_proj.register_forward_hook(save_output("k_lin", L)),
        att.v_proj.register_forward_hook(save_output("v_lin", L)),
        att.o_proj.register_forward_pre_hook(save_input("concat", L)),
        att.o_proj.register_forward_hook(save_output("attn_out", L)),
        layer.post_attention_layernorm.register_forward_pre_hook(save_input("attn_residual_in", L)),
        layer.post_attention_layernorm.register_forward_hook(save_output("ffn_norm", L)),
        mlp.gate_proj.register_forward_hook(save_output("gate", L)),
        mlp.up_proj.register_forward_hook(save_output("up", L)),
        mlp.down_proj.register_forward_pre_hook(save_input("ffn_act", L)),
        mlp.down_proj.register_forward_hook(save_output("ffn_out", L)),
        layer.register_forward_hook(save_output("out", L)),
    ]


def split_heads(t, n):
    """(T, n*64) -> (n, T, 64); head h = columns h*64 ..< h*64+64."""
    T = t.shape[0]
    return t.view(T, n, D_HEAD).transpose(0, 1).contiguous()


def greedy_no_cache(ids, n):
    """Plain argmax loop: full forward over the whole sequence each step, no KV cache,
    no stopping at EOS."""
    seq = list(ids)
    new = []
    for _ in range(n):
        logits = model(torch.tensor([seq]), use_cache=False).logits[0, -1]
        nxt = int(torch.argmax(logits))
        new.append(nxt)
        seq.append(nxt)
    return new


# --------------------------------------------------------------------------
# Run every prompt
# --------------------------------------------------------------------------

OUT_DIR.mkdir(parents=True, exist_ok=True)
prompt_records = []
rope_inv_freq = model.model.rotary_emb.inv_freq.detach().clone()                     # (32,)
assert torch.equal(rope_inv_freq, 1.0 / (100000.0 ** (torch.arange(0, D_HEAD, 2, dtype=torch.float) / D_HEAD)))
assert model.model.rotary_emb.attention_scaling == 1.0

for name, text in PROMPTS:
    enc = tok(text)
    ids = list(enc["input_ids"])
    tokens = tok.convert_ids_to_tokens(ids)
    # Nothing is added by default: the GGUF says tokenizer.ggml.add_bos_token = False,
    # and the post-processor has no special tokens. (p1's leading <|im_start|> -- which
    # is also this tokenizer's bos_token, id 1 -- comes from the text itself.)
    bos_added = ids != list(tok(text, add_special_tokens=False)["input_ids"])
    assert not bos_added
    T = len(ids)

    rec.clear()
    _rope_calls.clear()
    input_ids = torch.tensor([ids], dtype=torch.long)
    recording = True
    with torch.no_grad():
        result = model(input_ids, attention_mask=torch.ones_like(input_ids), output_attentions=True, use_cache=False)
    recording = False

    with torch.no_grad():
        stack = lambda key, layers=LAYERS: torch.stack([rec[(key, L)] for L in layers])
        arrays = {}
        for key in ["x", "rmsnorm", "attn_out", "ffn_norm", "gate", "up", "ffn_act", "ffn_out", "out"]:
            arrays[key] = stack(key)

        q_pre = torch.stack([split_heads(rec[("q_lin", L)], N_HEADS) for L in LAYERS])    # (4,9,T,64)
        k_pre = torch.stack([split_heads(rec[("k_lin", L)], N_KV) for L in LAYERS])       # (4,3,T,64)
        v = torch.stack([split_heads(rec[("v_lin", L)], N_KV) for L in LAYERS])           # (4,3,T,64)

        # RoPE with the model's own rotary module and apply_rotary_pos_emb.
        pos = torch.arange(T).unsqueeze(0)
        cos, sin = model.model.rotary_emb(arrays["x"][:1], pos)                           # (1,T,64) each
        for L in range(N_LAYERS):   # every layer got exactly these cos/sin
            c, s = rec[("pos_emb", L)]
            assert torch.equal(c, cos) and torch.equal(s, sin)
        freqs = pos[0, :, None].float() * rope_inv_freq
        assert torch.equal(cos[0], torch.cat([freqs, freqs], -1).cos())
        q, k = _orig_rope(q_pre, k_pre, cos, sin)                                         # unsqueeze_dim=1
        # ...and they are exactly what the model itself computed inside attention.
        assert len(_rope_calls) == N_LAYERS
        for i, L in enumerate(LAYERS):
            assert torch.equal(q[i], _rope_calls[L][0]) and torch.equal(k[i], _rope_calls[L][1])

        scores = q @ rep_kv(k).transpose(-1, -2)                                          # (4,9,T,T)
        # HF multiplies by scaling = 64**-0.5 = 0.125; dividing by sqrt(64) = 8 is the
        # same operation bit for bit (power of two).
        scaled = scores / math.sqrt(D_HEAD)
        assert torch.equal(scaled, scores * 0.125)
        causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)               # True above diagonal
        masked = scaled.masked_fill(causal, float("-inf"))

        # The mask the model actually used: additive, 0 on/below the diagonal and a
        # huge negative (finfo.min) above; softmax gives exactly 0 there either way.
        m = rec[("mask", 0)]
        assert m is not None
        m = m.reshape(-1, T, T)[0]
        if m.dtype == torch.bool:            # True = attend
            assert torch.equal(~m, causal)
        else:
            assert torch.equal(m != 0, causal) and (m[causal] <= -1e30).all()

        # Weights straight from the model; check they are softmax(masked).
        weights_all = torch.stack([a[0] for a in result.attentions])                      # (30,9,T,T)
        weights = weights_all[LAYERS]
        d_w = assert_close(f"{name} weights vs softmax(masked)", weights, torch.softmax(masked, dim=-1), 1e-6)

        z = weights @ rep_kv(v)                                                           # (4,9,T,64)
        z_cat = z.transpose(1, 2).reshape(len(LAYERS), T, N_HEADS * D_HEAD)
        d_z = assert_close(f"{name} concat(z) vs o_proj input", z_cat, stack("concat"), 1e-6)

        arrays["attn_residual"] = arrays["x"] + arrays["attn_out"]
        assert torch.equal(arrays["attn_residual"], stack("attn_residual_in"))
        assert_close("ffn_act", torch.nn.functional.silu(arrays["gate"]) * arrays["up"], arrays["ffn_act"], 1e-6)
        assert torch.equal(arrays["out"], arrays["attn_residual"] + arrays["ffn_out"])
        for i, L in enumerate(LAYERS):
            layer = model.model.layers[L]
            assert torch.equal(layer.input_layernorm(arrays["x"][i]), arrays["rmsnorm"][i])
            assert torch.equal(layer.post_attention_layernorm(arrays["attn_residual"][i]), arrays["ffn_norm"][i])

        out_all = torch.stack([rec[("out", L)] for L in range(N_LAYERS)])                # (30,T,576)
        assert torch.equal(rec[("x", 0)], rec[("embeddings", None)])
        for L in range(1, N_LAYERS):
            assert torch.equal(rec[("x", L)], out_all[L - 1])
        final_norm = rec[("final_norm", None)]                                            # (T,576)
        assert torch.equal(final_norm, model.model.norm(out_all[-1]))
        logits_last = rec[("logits", None)][-1]                                           # (49152,)
        assert torch.equal(logits_last, result.logits[0, -1])

        probs = torch.softmax(logits_last, dim=-1)
        top_p, top_i = probs.topk(5)
        top5 = [
            {"id": int(i), "token": tok.convert_ids_to_tokens(int(i)), "text": tok.decode([int(i)]),
             "prob": float(p), "logit": float(logits_last[i])}
            for p, i in zip(top_p, top_i)
        ]

        # Greedy continuation: generate() (KV cache, stops at eos_token_id = 2,
        # <|im_end|>) versus a plain argmax loop over full forwards without cache.
        gen = model.generate(input_ids, attention_mask=torch.ones_like(input_ids),
                             max_new_tokens=N_NEW, do_sample=False)
        greedy_ids = gen[0, T:].tolist()
        argmax12 = greedy_no_cache(ids, N_NEW)
        stopped_at_eos = len(greedy_ids) < N_NEW
        if stopped_at_eos:
            assert greedy_ids[-1] == cfg.eos_token_id
        assert argmax12[: len(greedy_ids)] == greedy_ids, (greedy_ids, argmax12)
        assert greedy_ids[0] == int(top_i[0])

        arrays.update(q_prerope=q_pre, k_prerope=k_pre, v=v, q=q, k=k, scores=scores, scaled=scaled,
                      masked=masked, weights=weights, z=z, weights_all=weights_all, out_all=out_all,
                      final_norm=final_norm, logits_last=logits_last, rope_inv_freq=rope_inv_freq,
                      rope_cos=cos[0], rope_sin=sin[0])

    # numpy-side sanity checks on exactly what gets written.
    np_arr = {key: f32(t) for key, t in arrays.items()}
    w_all = np_arr["weights_all"]
    assert np.allclose(w_all.sum(-1), 1.0, atol=1e-6)
    assert (w_all[..., causal.numpy()] == 0).all()                # upper triangle exactly 0
    assert (w_all[..., 0, 0] == 1).all()                          # token 0 sees only itself
    assert np.array_equal(np_arr["weights"], w_all[LAYERS])
    assert np.array_equal(np_arr["out"], np_arr["out_all"][LAYERS])
    for i, L in enumerate(LAYERS):
        if L > 0:
            assert np.array_equal(np_arr["x"][i], np_arr["out_all"][L - 1])
    assert np.isneginf(np_arr["masked"][..., causal.numpy()]).all()
    assert np.isfinite(np_arr["masked"][..., ~causal.numpy()]).all()
    assert np.array_equal(np_arr["scaled"][..., ~causal.numpy()], np_arr["masked"][..., ~causal.numpy()])
    for key, a in np_arr.items():
        assert a.dtype == np.dtype("<f4") and a.flags.c_contiguous
        if key != "masked":
            assert np.isfinite(a).all(), key

    pdir = OUT_DIR / name
    pdir.mkdir(parents=True, exist_ok=True)
    for key, a in np_arr.items():
        np.save(pdir / f"{key}.npy", a)

    greedy_text = tok.decode(greedy_ids)
    print(f"{name}: T={T}  max|weights-softmax|={d_w:.2e}  max|concat(z)-o_proj_in|={d_z:.2e}")
    print(f"    tokens: {tokens}")
    print(f"    top5: {[(t['token'], round(t['prob'], 4)) for t in top5]}")
    print(f"    greedy: {greedy_ids} {greedy_text!r}  (argmax loop: {argmax12})")
    prompt_records.append({
        "name": name,
        "text": text,
        "ids": ids,
        "tokens": tokens,
        "bos_added": bos_added,
        "top5": top5,
        "greedy_ids": greedy_ids,
        "greedy_text": greedy_text,
        "greedy_stopped_at_eos": stopped_at_eos,
        "greedy_matches_argmax_no_cache": True,     # asserted above (prefix of argmax12_ids)
        "argmax12_ids": argmax12,
        "argmax12_text": tok.decode(argmax12),
    })

for h in handles:
    h.remove()
modeling_llama.apply_rotary_pos_emb = _orig_rope

# --------------------------------------------------------------------------
# prompts.json: what was run, and with which libraries
# --------------------------------------------------------------------------

meta = {
    "transformers": transformers.__version__,
    "torch": torch.__version__,
    "tokenizers": tokenizers.__version__,
    "numpy": np.__version__,
    "gguf": importlib.metadata.version("gguf"),
    "accelerate": importlib.metadata.version("accelerate"),
    "gguf_file": GGUF_FILE,
    "gguf_sha256": sha,
    "attn_implementation": "eager",
    "dtype": "float32",
    "layers": LAYERS,
    "n_new_tokens": N_NEW,
    "bos_token": tok.bos_token,
    "bos_token_id": tok.bos_token_id,
    "eos_token": tok.eos_token,
    "eos_token_id": tok.eos_token_id,
    "rms_norm_eps": cfg.rms_norm_eps,
    "rope_theta": cfg.rope_parameters["rope_theta"],
    "prompts": prompt_records,
}
with open(OUT_DIR / "prompts.json", "w", encoding="utf-8") as f:
    json.dump(meta, f, ensure_ascii=False, indent=2)
    f.write("\n")
print(f"wrote {OUT_DIR}")
