#!/usr/bin/env python3
"""Reference fixtures for attn: every step of Google's Gemma 3 270M (loaded from
its Q4_K_M GGUF), as computed by Hugging Face transformers.

The Swift tests in Tests/AttnCoreTests compare attn's own forward pass, step by
step, against the arrays written here. This script is the record of how those
fixtures were made; rerun it to regenerate them (see Tests/Reference/README.md).
It is modelled on smollm2_steps.py: same file names and prompts.json fields
wherever the concept is the same.

Usage:
    python Tests/Reference/gemma3_steps.py [MODEL_DIR] [OUT_DIR]

    MODEL_DIR  directory holding gemma-3-270m-q4_k_m.gguf (default:
               $ATTN_MODELS/gemma3, else $XDG_CACHE_HOME/attn/models/gemma3,
               else ~/.cache/attn/models/gemma3)
    OUT_DIR    where to write the fixtures
               (default: <repo>/Tests/AttnCoreTests/Fixtures/gemma3)

The model (transformers 5.23 Gemma3ForCausalLM, config gemma3_text)
------------------------------------------------------------------
18 layers, d_model 640, 4 query heads sharing 1 kv head (head_dim 256, so q is
1024 wide and k, v 256), gated FFN 2048 with gelu_pytorch_tanh, vocab 262144,
lm_head tied to the embedding. One decoder layer (all norms are Gemma3RMSNorm):

    a   = input_layernorm(x)                             attn_norm_in
    q   = q_proj(a), k = k_proj(a), v = v_proj(a)         q_prerope, k_prerope, v
    q   = q_norm(q), k = k_norm(k)   per head, over 256   q_normed, k_normed
    q,k = RoPE (rotate_half / NeoX halves), base 10000 on sliding layers,
          1000000 on full layers                          q, k
    s   = q @ k^T                                         scores
    s   = s * 256**-0.5 (= 0.0625, exactly s / 16)        scaled
    s   = s + mask                                        masked
    w   = softmax(s)                                      weights
    z   = w @ v ; attn_out = o_proj(concat z)             z, attn_out
    h   = x + post_attention_layernorm(attn_out)          post_attn_norm, attn_residual
    f   = pre_feedforward_layernorm(h)                    ffn_norm
    f   = down_proj(gelu_tanh(gate_proj f) * up_proj f)   gate, up, ffn_act, ffn_out
    out = h + post_feedforward_layernorm(f)               post_ffn_norm, out

and around the layers: x_0 = embed_tokens(ids) * float32(sqrt(640)), logits =
norm(x_18) @ E^T (no final softcapping).

Facts checked by this script (asserts below; transformers 5.23, gguf 0.19)
-------------------------------------------------------------------------
1. RMSNorm weights. llama.cpp's converter stores every Gemma norm weight as
   g = 1 + w (convert_hf_to_gguf: `data_torch + 1` for names ending in
   norm.weight). transformers' GGUF loader (Gemma2TensorProcessor, also used for
   gemma3) subtracts 1 again: w = g - 1 in float32 numpy, for every tensor whose
   name contains "norm.weight": attn_norm, post_attention_norm, ffn_norm,
   post_ffw_norm, attn_q_norm, attn_k_norm (18 each) and output_norm = 109
   tensors, all F32 in the file. Gemma3RMSNorm then computes, in float32:

       y = x * rsqrt(mean(x * x, -1) + eps) * (1.0 + w)     eps = float32(1e-6)

   (x.float(), mean over the last axis, `x.pow(2).mean(-1, keepdim=True) + eps`,
   torch.rsqrt, then `* (1.0 + w)`, cast back to x's dtype, float32 here). For
   all 109 tensors (1 + (g - 1)) == g bit for bit (0 values differ), so using
   the file's g directly gives the same bits: y = x * rsqrt(mean(x^2) + eps) * g.
   Every w = g - 1 is a bfloat16 value (the checkpoint's); the g are not (14,189
   of the 55,936 have non-zero low 16 bits), and 189 are negative, 143 zero.
   eps: the file holds float32(1e-6) = 9.999999974752427e-07, which
   transformers keeps as a Python float; adding it to a float32 tensor rounds it
   back to float32(1e-6).
2. attn_q / attn_k are NOT permuted: llama.cpp runs Gemma 3 with NeoX RoPE (the
   halves i, i+128 of each head), as HF does, so its converter leaves the rows
   alone (only LlamaModel permutes). The loaded q_proj/k_proj equal the file's
   dequantized rows bit for bit, both with gguf.dequantize and with this
   script's own Q5_0 decoder (all 18 layers). Every other tensor also equals
   gguf.dequantize of the file tensor bit for bit (norms: minus 1, see 1).
3. Tensor names (GGUF -> HF module, type in this file):
       token_embd                 model.embed_tokens (Q8_0, 640 x 262144); also
                                  lm_head: no output.weight, tie_word_embeddings
                                  = True, lm_head.weight is the same tensor
       output_norm                model.norm (F32)
       blk.N.attn_norm            layers.N.input_layernorm (F32)
       blk.N.attn_q               layers.N.self_attn.q_proj (Q5_0, 1024 x 640)
       blk.N.attn_k               layers.N.self_attn.k_proj (Q5_0, 256 x 640)
       blk.N.attn_v               layers.N.self_attn.v_proj (Q8_0 in layers
                                  0, 1, 4, 7, 10, 13, 15, 16, 17 =
                                  ATTN_V_Q8_0 below, Q5_0 in the others)
       blk.N.attn_q_norm          layers.N.self_attn.q_norm (F32, 256)
       blk.N.attn_k_norm          layers.N.self_attn.k_norm (F32, 256)
       blk.N.attn_output          layers.N.self_attn.o_proj (Q4_K, 640 x 1024)
       blk.N.post_attention_norm  layers.N.post_attention_layernorm (F32)
       blk.N.ffn_norm             layers.N.pre_feedforward_layernorm (F32)
       blk.N.ffn_gate             layers.N.mlp.gate_proj (Q5_0, 2048 x 640)
       blk.N.ffn_up               layers.N.mlp.up_proj (Q5_0, 2048 x 640)
       blk.N.ffn_down             layers.N.mlp.down_proj (Q6_K in the layers of
                                  ATTN_V_Q8_0, Q4_K in the others; 640 x 2048)
       blk.N.post_ffw_norm        layers.N.post_feedforward_layernorm (F32)
   (HF (out, in) = GGUF ne [in, out].) 236 tensors, all plain float32
   nn.Linear / nn.Embedding after loading (Gemma 3 goes through the legacy
   loader load_gguf_checkpoint, not the packed integrations/gguf path).
4. Config transformers ends up with. The GGUF holds only context_length 32768,
   embedding_length 640, block_count 18, feed_forward_length 2048, head_count 4,
   head_count_kv 1, key_length = value_length 256, rms eps, rope.freq_base 1e6,
   sliding_window 512; everything else is Gemma3TextConfig's default:
       query_pre_attn_scalar 256  -> scaling = 256**-0.5 = 0.0625
       sliding_window 512, sliding_window_pattern 6 -> layer_types: layer i is
         "full_attention" iff (i + 1) % 6 == 0 (5, 11, 17), else
         "sliding_attention"
       rope_parameters = {sliding_attention: default, rope_theta 10000.0,
                          full_attention: default, rope_theta 1000000.0}
         (rope.freq_base -> full; the local base is the class default; no rope
         scaling on either, attention_scaling 1.0)
       final_logit_softcapping None, attn_logit_softcapping None
       hidden_activation gelu_pytorch_tanh (F.gelu(approximate="tanh"))
       rms_norm_eps 9.999999974752427e-07, head_dim 256, vocab_size 262144,
       max_position_embeddings 32768, use_bidirectional_attention False,
       bos 2, eos 1, pad 0, unk 3
   Embedding scale: Gemma3TextScaledWordEmbedding keeps embed_scale as a 0-d
   float32 tensor torch.tensor(640**0.5) = float32(25.298221281347036) =
   25.298221588134766 and multiplies the float32 embedding rows by it (in the
   weight dtype, float32 here): x_0 = E[id] * 25.298221588134766f.
5. Sliding-window mask: on a sliding layer query i sees key j iff
   i - 512 < j <= i, i.e. i - 511 <= j <= i (512 keys, itself included):
   masking_utils.sliding_window_overlay is `kv_idx > q_idx - sliding_window`,
   and-ed with causal `kv_idx <= q_idx`. Full layers: j <= i. Checked against
   the additive mask the model hands each layer and against the model's own
   weights on p2 (648 tokens, so rows >= 512 lose their first keys).
6. Tokenizer. The GGUF has tokenizer.ggml.model "llama" (tokens, scores, types;
   no merges), pre "default", add_bos_token True, add_space_prefix False.
   AutoTokenizer builds a GemmaTokenizer (TokenizersBackend, a fast
   tokenizers.Tokenizer): BPE with byte_fallback (<0x00>..<0xFF> = ids
   238..493), fuse_unk, unk <unk>; its 514,906 merges are rebuilt from the
   vocabulary and ranked by file position, not by score; the 30 space-run tokens
   the file spells with real spaces ("  " = id 138...) are respelled "▁▁"...;
   normalizer Replace(" " -> "▁") with no prefix space; pre-tokenizer
   Split(" ", merged_with_previous), a no-op after that normalizer;
   post-processor "<bos> $A" (adds id 2, no EOS); decoder Replace("▁" -> " "),
   ByteFallback, Fuse. 6,384 added tokens matched whole in the raw text first:
   the 6,249 control tokens (special: <pad> 0, <eos> 1, <bos> 2, <unk> 3,
   <mask> 4, <start_of_turn> 105, <end_of_turn> 106, <unusedN>...) and 135
   user-defined ones (not special: newline runs = ids 107..137, tab runs, HTML tags,
   [multimodal], <start_of_image>...). The ids below are what the tokenizer
   gives by default, BOS included, and are the model input.

Prompts and layers
------------------
p0 "The capital of France is", p1 "def fibonacci(n):", p2 five paragraphs
about the history of Lyon (505 words, 648 tokens with BOS, longer than the 512
sliding window). Layers recorded step by step: LAYERS = [0, 1, 5, 6, 11, 17] (sliding,
sliding, full, sliding, full, full); prompts.json lists each one's type and
RoPE base.

Rows. For p0 and p1 every array holds every position. For p2 (T = 648) every
array with a position axis holds only the query positions in ROWS_P2 =
[0, 1, 2, 255, 510, 511, 512, 513, 600, 646, 647] (R = 11, stored in that order;
prompts.json "rows"); the T x T arrays keep every key position (last axis T).
prompts.json gives "rows" for every prompt (for p0/p1 simply 0..T-1), so
array[..., r, ...] is position rows[r].

Fewer steps for p2, to keep the fixtures near 12 MB (each prompt's "files" in
prompts.json lists exactly what it has). p2 keeps what depends on position or on
the window: embeddings, x, q, k, v (after RoPE, at the stored rows), masked,
weights, z, attn_out, out, out_all, final_norm, logits_last and the RoPE tables.
It leaves out (P2_LEAVES_OUT) attn_norm_in, q_prerope, k_prerope, q_normed,
k_normed, post_attn_norm, attn_residual, ffn_norm, gate, up, ffn_act, ffn_out,
post_ffn_norm (computed the same way at every position, and covered by p0/p1),
scores and scaled (masked holds scaled wherever a key is allowed, and scores =
16 * scaled exactly) and weights_all (2 MB for 11 rows).

Output layout (all arrays float32 little-endian '<f4', C order, np.save; "6" =
the recorded layers in LAYERS order; R = number of rows (= T for p0, p1);
H = 4 query heads, KV = 1 kv head, Dh = 256; * = p0 and p1 only):

    OUT/prompts.json                versions, GGUF sha256, config facts, layers with
                                    their types and RoPE bases, per prompt: text, ids,
                                    tokens, bos_added, n_tokens, rows, files, top5,
                                    greedy continuation
    OUT/p{n}/embeddings.npy         (R, 640)         embed_tokens output (already
                                                     * sqrt(640)) == x of layer 0
    OUT/p{n}/x.npy                  (6, R, 640)      hidden state entering layer L
  * OUT/p{n}/attn_norm_in.npy       (6, R, 640)      input_layernorm(x)
  * OUT/p{n}/q_prerope.npy          (6, 4, R, 256)   q_proj(attn_norm_in), head h =
                                                     cols h*256..<h*256+256
  * OUT/p{n}/k_prerope.npy          (6, 1, R, 256)   k_proj(attn_norm_in)
    OUT/p{n}/v.npy                  (6, 1, R, 256)   v_proj(attn_norm_in)
  * OUT/p{n}/q_normed.npy           (6, 4, R, 256)   q_norm(q_prerope) (per head, per
                                                     position, over 256), before RoPE
  * OUT/p{n}/k_normed.npy           (6, 1, R, 256)   k_norm(k_prerope)
    OUT/p{n}/q.npy                  (6, 4, R, 256)   q_normed after RoPE of the layer's
                                                     type (rotate_half, position = row)
    OUT/p{n}/k.npy                  (6, 1, R, 256)   k_normed after RoPE
  * OUT/p{n}/scores.npy             (6, 4, R, T)     q @ k^T (all heads read kv head 0)
  * OUT/p{n}/scaled.npy             (6, 4, R, T)     scores * 0.0625 (== / 16 exactly)
    OUT/p{n}/masked.npy             (6, 4, R, T)     scaled, -inf where masked: j > i,
                                                     and on sliding layers j < i - 511
    OUT/p{n}/weights.npy            (6, 4, R, T)     attention probabilities from the model
                                                     (output_attentions); == softmax(masked)
    OUT/p{n}/z.npy                  (6, 4, R, 256)   weights @ v; heads concatenated
                                                     (R, 1024) == the o_proj input
    OUT/p{n}/attn_out.npy           (6, R, 640)      o_proj output
  * OUT/p{n}/post_attn_norm.npy     (6, R, 640)      post_attention_layernorm(attn_out)
  * OUT/p{n}/attn_residual.npy      (6, R, 640)      x + post_attn_norm
  * OUT/p{n}/ffn_norm.npy           (6, R, 640)      pre_feedforward_layernorm(attn_residual)
  * OUT/p{n}/gate.npy, up.npy       (6, R, 2048)     gate_proj / up_proj outputs
  * OUT/p{n}/ffn_act.npy            (6, R, 2048)     gelu_tanh(gate) * up (down_proj input)
  * OUT/p{n}/ffn_out.npy            (6, R, 640)      down_proj output
  * OUT/p{n}/post_ffn_norm.npy      (6, R, 640)      post_feedforward_layernorm(ffn_out)
    OUT/p{n}/out.npy                (6, R, 640)      layer output = attn_residual + post_ffn_norm
    OUT/p{n}/out_all.npy            (18, R, 640)     output of every layer
  * OUT/p{n}/weights_all.npy        (18, 4, T, T)    attention probabilities of every layer
    OUT/p{n}/final_norm.npy         (R, 640)         model.norm(out_all[17])
    OUT/p{n}/logits_last.npy        (262144,)        lm_head output at the last position
    OUT/p{n}/rope_inv_freq_local.npy  (128,)         1 / 10000^(2i/256)   (sliding layers)
    OUT/p{n}/rope_inv_freq_global.npy (128,)         1 / 1000000^(2i/256) (full layers)
    OUT/p{n}/rope_cos_local.npy     (R, 256)         cos(pos * inv_freq_local), cat(f, f)
    OUT/p{n}/rope_sin_local.npy     (R, 256)         sin(pos * inv_freq_local), cat(f, f)
    OUT/p{n}/rope_cos_global.npy    (R, 256)         the same with inv_freq_global
    OUT/p{n}/rope_sin_global.npy    (R, 256)
"""

import hashlib
import importlib.metadata
import json
import os
import sys
from pathlib import Path

import gguf
import numpy as np
import tokenizers
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.modeling_gguf_pytorch_utils import Gemma2TensorProcessor, get_gguf_hf_weights_map
from transformers.models.gemma3 import modeling_gemma3

# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[2]


def default_model_dir() -> Path:
    """$ATTN_MODELS/gemma3, else $XDG_CACHE_HOME/attn/models/gemma3, else
    ~/.cache/attn/models/gemma3 (where `attn fetch gemma3` puts the file)."""
    if os.environ.get("ATTN_MODELS"):
        return Path(os.environ["ATTN_MODELS"]) / "gemma3"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "attn/models/gemma3"


MODEL_DIR = Path(sys.argv[1]) if len(sys.argv) > 1 else default_model_dir()
OUT_DIR = Path(sys.argv[2]) if len(sys.argv) > 2 else REPO_ROOT / "Tests/AttnCoreTests/Fixtures/gemma3"
GGUF_FILE = "gemma-3-270m-q4_k_m.gguf"
GGUF_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"

# p2: longer than the 512-token sliding window, so sliding layers really mask.
# Names recur (Lyon, Lugdunum, Fourvière, Saône, Rhône, Croix-Rousse, Lumière) and
# the text ends "on the hill of", whose answer is Fourvière: named at position 21
# ("on the hill of Fourvière", 626 tokens back, so only the full layers can see
# it from the last row) and again at 557 (inside the window).
P2_TEXT = (
    "Lyon began as Lugdunum, a Roman colony founded in 43 BC on the hill of Fourvière, above the place "
    "where the Saône flows into the Rhône. Lugdunum grew quickly. It became the capital of the Three "
    "Gauls, and every August delegates from sixty Gallic tribes met at the sanctuary below the hill to "
    "honour Rome and the emperor. Two emperors, Claudius and Caracalla, were born in Lugdunum, and the "
    "city minted coins for the whole western empire.\n\n"
    "After Rome fell, Lyon passed from the Burgundians to the Franks and then to the Holy Roman Empire, "
    "while its archbishops ruled the city in practice. In 1312 Lyon finally became part of the kingdom "
    "of France. Its position on two rivers made it a natural place for trade, and from the fifteenth "
    "century four fairs a year brought merchants and bankers from Florence, Genoa and Lucca to Lyon. The "
    "Italian bankers built fine houses in the old quarter along the Saône, which is still called Vieux "
    "Lyon, and printers set up their presses nearby: by 1500 Lyon was one of the great printing cities "
    "of Europe, after Venice and Paris.\n\n"
    "The trade that made Lyon famous, however, was silk. In 1536 King Francis I granted the city the "
    "right to weave silk, and within two centuries tens of thousands of weavers worked in Lyon. They "
    "lived on the hill of the Croix-Rousse, in tall buildings with high ceilings made for the looms, and "
    "carried their cloth down to the merchants through covered passages called traboules. In 1804 Joseph "
    "Marie Jacquard, a son of Lyon, showed a loom driven by punched cards, which let one weaver make "
    "patterns that had needed two people before. The weavers of the Croix-Rousse, the canuts, rose up in "
    "1831 and again in 1834 when the merchants cut their pay, and their revolts are remembered as some "
    "of the first workers' uprisings of the industrial age.\n\n"
    "During the French Revolution Lyon rebelled against the Convention in Paris, and after a siege in "
    "1793 the city was punished harshly. In the nineteenth century Lyon recovered and grew again. The "
    "brothers Auguste and Louis Lumière, whose father ran a photographic factory in Lyon, showed their "
    "cinematograph in 1895, and one of the first films ever made shows workers leaving the Lumière "
    "factory in Lyon. During the Second World War Lyon was a centre of the French Resistance, and Jean "
    "Moulin was arrested there in 1943.\n\n"
    "Today Lyon is the third largest city in France. The Saône and the Rhône still meet at the tip of "
    "the peninsula, the basilica of Fourvière looks down on the city from the hill where Lugdunum began, "
    "and the old silk quarter of the Croix-Rousse is full of cafes and workshops. Lyon is also known for "
    "its food: people come to Lyon to eat in its small restaurants, the bouchons, and many say that Lyon "
    "is the capital of French cooking. So when a visitor asks where the history of Lyon begins, the "
    "answer is simple: on the hill of"
)
P2_TOKENS = 648                                  # with BOS; asserted below

# Keep these exactly: the Swift tests refer to them by name (p0, p1, p2).
PROMPTS = [
    ("p0", "The capital of France is"),
    ("p1", "def fibonacci(n):"),
    ("p2", P2_TEXT),
]
LAYERS = [0, 1, 5, 6, 11, 17]   # layers recorded step by step: sliding 0, 1, 6; full 5, 11, 17
# Query positions stored for p2 (T = 648): the start, the last position before the
# window slides (511), the first ones that lose keys (512, 513), and the end.
ROWS_P2 = [0, 1, 2, 255, 510, 511, 512, 513, 600, P2_TOKENS - 2, P2_TOKENS - 1]
FULL_ROWS_MAX_T = 64            # prompts up to this length store every position
# Steps p2 leaves out to keep the fixtures near 12 MB: those that do not depend on
# position or on the window (the FFN and the norms around it, q/k before RoPE) are
# covered by p0 and p1; scores and scaled are in masked (scaled wherever a key is
# allowed; scores = 16 * scaled exactly); weights_all would be 2 MB.
P2_LEAVES_OUT = {"attn_norm_in", "q_prerope", "k_prerope", "q_normed", "k_normed", "scores", "scaled",
                 "post_attn_norm", "attn_residual", "ffn_norm", "gate", "up", "ffn_act", "ffn_out",
                 "post_ffn_norm", "weights_all"}
N_NEW = 12                      # greedy continuation length

# Layers whose attn_v is Q8_0 and ffn_down Q6_K (Q4_K_M's "more bits" layers);
# the others have attn_v Q5_0 and ffn_down Q4_K.
ATTN_V_Q8_0 = [0, 1, 4, 7, 10, 13, 15, 16, 17]

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
    """Some modules (e.g. Gemma3Attention) return (tensor, attn_weights)."""
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
N_LAYERS = cfg.num_hidden_layers                    # 18
N_HEADS = cfg.num_attention_heads                   # 4
N_KV = cfg.num_key_value_heads                      # 1
D_MODEL = cfg.hidden_size                           # 640
D_HEAD = cfg.head_dim                               # 256
D_FFN = cfg.intermediate_size                       # 2048
VOCAB = cfg.vocab_size                              # 262144
GROUP = N_HEADS // N_KV                             # 4 query heads per kv head
WINDOW = cfg.sliding_window                         # 512
SCALE = cfg.query_pre_attn_scalar ** -0.5           # 0.0625
assert type(model) is modeling_gemma3.Gemma3ForCausalLM and cfg.model_type == "gemma3_text"
assert (N_LAYERS, N_HEADS, N_KV, D_MODEL, D_HEAD, D_FFN, VOCAB) == (18, 4, 1, 640, 256, 2048, 262144)
assert cfg.query_pre_attn_scalar == 256 and SCALE == 0.0625
assert WINDOW == 512 and cfg._sliding_window_pattern == 6
LAYER_TYPES = list(cfg.layer_types)
assert LAYER_TYPES == ["full_attention" if (i + 1) % 6 == 0 else "sliding_attention" for i in range(N_LAYERS)]
assert cfg.rope_parameters == {
    "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
    "full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
}, cfg.rope_parameters
ROPE_THETA = {t: cfg.rope_parameters[t]["rope_theta"] for t in ("sliding_attention", "full_attention")}
assert cfg.final_logit_softcapping is None and cfg.attn_logit_softcapping is None
assert cfg.hidden_activation == "gelu_pytorch_tanh"
assert not cfg.use_bidirectional_attention
# The GGUF stores eps as float32(1e-6); transformers keeps that value as a Python float.
assert cfg.rms_norm_eps == float(np.float32(1e-6)), cfg.rms_norm_eps
assert cfg.tie_word_embeddings and not cfg.attention_bias
assert (cfg.bos_token_id, cfg.eos_token_id, cfg.pad_token_id) == (2, 1, 0)
assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
assert model.config._attn_implementation == "eager"
EMBED_SCALE = model.model.embed_tokens.embed_scale
assert EMBED_SCALE.dtype == torch.float32 and EMBED_SCALE.item() == float(np.float32(640 ** 0.5))
# Fully dequantized: ordinary float32 modules, no packed GGUF layers.
for name, module in model.named_modules():
    if hasattr(module, "weight") and isinstance(module.weight, torch.Tensor):
        assert type(module) in (torch.nn.Linear, modeling_gemma3.Gemma3TextScaledWordEmbedding,
                                modeling_gemma3.Gemma3RMSNorm), (name, type(module))
        assert module.weight.dtype == torch.float32, name
        if isinstance(module, modeling_gemma3.Gemma3RMSNorm):
            assert module.eps == cfg.rms_norm_eps, name

# --------------------------------------------------------------------------
# Check the GGUF -> HF weight mapping ourselves, from the raw file bytes
# --------------------------------------------------------------------------

reader = gguf.GGUFReader(str(gguf_path))
gguf_tensors = {t.name: t for t in reader.tensors}
assert len(gguf_tensors) == 236 and "output.weight" not in gguf_tensors


def dequant_q5_0(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Own Q5_0 decoder: 22-byte blocks of (d:f16, qh:u32, 16 bytes of nibbles);
    w[k] = d * ((low nibble | high bit << 4) - 16), element k < 16 in the low
    nibble of byte k, k >= 16 in the high nibble of byte k-16; its 5th bit is
    bit k of qh."""
    blocks = raw.reshape(-1, 22)
    d = blocks[:, 0:2].copy().view("<f2").astype(np.float32)            # (nb, 1)
    qh = blocks[:, 2:6].copy().view("<u4")                              # (nb, 1)
    qs = blocks[:, 6:]
    low = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int32)  # (nb, 32)
    high = ((qh >> np.arange(32, dtype=np.uint32)) & 1).astype(np.int32)
    return (d * ((low | (high << 4)) - 16).astype(np.float32)).reshape(rows, cols)


# Every GGUF tensor against the module transformers loaded it into.
hf_names = get_gguf_hf_weights_map(model, Gemma2TensorProcessor(config=cfg.to_dict()))
state = model.state_dict()
TENSOR_MAP = {}                                     # gguf name -> [hf name, type]
NORM_DIFFS = 0                                      # values where 1 + (g - 1) != g
NORM_COUNT = 0
for t in reader.tensors:
    hf = hf_names[t.name]
    TENSOR_MAP[t.name] = [hf, t.tensor_type.name]
    w_file = gguf.dequantize(t.data, t.tensor_type)
    w_hf = state[hf].numpy()
    if t.name.endswith("norm.weight"):
        # Stored as 1 + w; the loader subtracts 1 (float32); Gemma3RMSNorm adds it back.
        assert t.tensor_type == gguf.GGMLQuantizationType.F32, t.name
        assert np.array_equal((w_file - np.float32(1)).astype(np.float32), w_hf), t.name
        back = (np.float32(1) + w_hf).astype(np.float32)
        NORM_DIFFS += int((back.view(np.uint32) != w_file.view(np.uint32)).sum())
        NORM_COUNT += 1
    else:
        assert np.array_equal(w_file, w_hf), t.name
assert NORM_COUNT == 6 * N_LAYERS + 1 and NORM_DIFFS == 0, (NORM_COUNT, NORM_DIFFS)
assert TENSOR_MAP["token_embd.weight"] == ["model.embed_tokens.weight", "Q8_0"]
assert TENSOR_MAP["output_norm.weight"] == ["model.norm.weight", "F32"]
EXPECTED = {
    "attn_norm": ("input_layernorm", "F32"),
    "attn_q": ("self_attn.q_proj", "Q5_0"),
    "attn_k": ("self_attn.k_proj", "Q5_0"),
    "attn_q_norm": ("self_attn.q_norm", "F32"),
    "attn_k_norm": ("self_attn.k_norm", "F32"),
    "attn_output": ("self_attn.o_proj", "Q4_K"),
    "post_attention_norm": ("post_attention_layernorm", "F32"),
    "ffn_norm": ("pre_feedforward_layernorm", "F32"),
    "ffn_gate": ("mlp.gate_proj", "Q5_0"),
    "ffn_up": ("mlp.up_proj", "Q5_0"),
    "post_ffw_norm": ("post_feedforward_layernorm", "F32"),
}
for L in range(N_LAYERS):
    big = L in ATTN_V_Q8_0
    expected = dict(EXPECTED, attn_v=("self_attn.v_proj", "Q8_0" if big else "Q5_0"),
                    ffn_down=("mlp.down_proj", "Q6_K" if big else "Q4_K"))
    for leaf, (module, qtype) in expected.items():
        assert TENSOR_MAP[f"blk.{L}.{leaf}.weight"] == [f"model.layers.{L}.{module}.weight", qtype], (L, leaf)
    # q/k rows are not permuted: the file's rows, decoded by our own Q5_0 decoder,
    # are exactly q_proj/k_proj.
    attn = model.model.layers[L].self_attn
    for leaf, module in (("attn_q", attn.q_proj), ("attn_k", attn.k_proj)):
        t = gguf_tensors[f"blk.{L}.{leaf}.weight"]
        rows, cols = int(t.shape[1]), int(t.shape[0])               # ne = [in, out]
        assert np.array_equal(dequant_q5_0(np.asarray(t.data, dtype=np.uint8), rows, cols),
                              module.weight.detach().numpy()), (leaf, L)
assert len(TENSOR_MAP) == 1 + 1 + 13 * N_LAYERS
_module_of = dict(model.named_modules())
GGUF_NAME = {_module_of[hf.removesuffix(".weight")]: g for g, (hf, _) in TENSOR_MAP.items()}   # module -> gguf name

# The GGUF metadata transformers read the config from.
fields = reader.fields
GGUF_META = {k: fields[k].contents() for k in (
    "gemma3.context_length", "gemma3.embedding_length", "gemma3.block_count", "gemma3.feed_forward_length",
    "gemma3.attention.head_count", "gemma3.attention.head_count_kv", "gemma3.attention.key_length",
    "gemma3.attention.value_length", "gemma3.attention.layer_norm_rms_epsilon", "gemma3.rope.freq_base",
    "gemma3.attention.sliding_window", "tokenizer.ggml.model", "tokenizer.ggml.pre",
    "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token", "tokenizer.ggml.add_space_prefix",
    "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id")}
assert not any(k.startswith("gemma3.rope.scaling") or "softcap" in k or "pattern" in k for k in fields)

# Which kv head serves query head h: with one kv head, all of them.
_probe = torch.arange(N_KV, dtype=torch.float32).view(1, N_KV, 1, 1)
assert modeling_gemma3.repeat_kv(_probe, GROUP).flatten().tolist() == [h // GROUP for h in range(N_HEADS)]


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
    # The hidden state entering the decoder layer, plus the mask and the
    # (cos, sin) the model hands to this layer (both depend on its type).
    def hook(module, args, kwargs):
        if recording:
            hs = args[0] if args else kwargs["hidden_states"]
            rec[("x", layer)] = hs[0].detach().clone()
            rec[("mask", layer)] = kwargs.get("attention_mask")
            rec[("pos_emb", layer)] = kwargs.get("position_embeddings")
    return hook


# apply_rotary_pos_emb is looked up in modeling_gemma3's globals at call time
# (the hub-kernel decorators are no-ops without the `kernels` package), so
# wrapping it lets us see the exact post-RoPE q and k the model used.
_orig_rope = modeling_gemma3.apply_rotary_pos_emb
_rope_calls: list = []


def recording_rope(q, k, cos, sin, *a, **kw):
    q_out, k_out = _orig_rope(q, k, cos, sin, *a, **kw)
    if recording:
        _rope_calls.append((q_out[0].detach().clone(), k_out[0].detach().clone()))
    return q_out, k_out


modeling_gemma3.apply_rotary_pos_emb = recording_rope

handles = [
    model.model.embed_tokens.register_forward_hook(save_output("embeddings")),
    model.model.norm.register_forward_hook(save_output("final_norm")),
    model.lm_head.register_forward_hook(save_output("logits")),
]
for L, layer in enumerate(model.model.layers):
    att, mlp = layer.self_attn, layer.mlp
    handles += [
        layer.register_forward_pre_hook(save_layer_input(L), with_kwargs=True),
        layer.input_layernorm.register_forward_hook(save_output("attn_norm_in", L)),
        att.q_proj.register_forward_hook(save_output("q_lin", L)),
        att.k_proj.register_forward_hook(save_output("k_lin", L)),
        att.v_proj.register_forward_hook(save_output("v_lin", L)),
        att.q_norm.register_forward_hook(save_output("q_normed", L)),       # (H, T, 256)
        att.k_norm.register_forward_hook(save_output("k_normed", L)),       # (KV, T, 256)
        att.o_proj.register_forward_pre_hook(save_input("concat", L)),
        att.o_proj.register_forward_hook(save_output("attn_out", L)),
        layer.post_attention_layernorm.register_forward_hook(save_output("post_attn_norm", L)),
        layer.pre_feedforward_layernorm.register_forward_pre_hook(save_input("attn_residual_in", L)),
        layer.pre_feedforward_layernorm.register_forward_hook(save_output("ffn_norm", L)),
        mlp.gate_proj.register_forward_hook(save_output("gate", L)),
        mlp.up_proj.register_forward_hook(save_output("up", L)),
        mlp.down_proj.register_forward_pre_hook(save_input("ffn_act", L)),
        mlp.down_proj.register_forward_hook(save_output("ffn_out", L)),
        layer.post_feedforward_layernorm.register_forward_hook(save_output("post_ffn_norm", L)),
        layer.register_forward_hook(save_output("out", L)),
    ]


def split_heads(t, n):
    """(T, n*256) -> (n, T, 256); head h = columns h*256 ..< h*256+256."""
    T = t.shape[0]
    return t.view(T, n, D_HEAD).transpose(0, 1).contiguous()


def rmsnorm_by_hand(x, g_file):
    """Gemma3RMSNorm written out in float32 with the file's weight g = 1 + w."""
    x = x.float()
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + cfg.rms_norm_eps) * g_file


def greedy_no_cache(ids, n):
    """Plain argmax loop: full forward over the whole sequence each step, no KV cache,
    no stopping at EOS (only the last position's logits are computed)."""
    seq = list(ids)
    new = []
    for _ in range(n):
        logits = model(torch.tensor([seq]), use_cache=False, logits_to_keep=1).logits[0, -1]
        nxt = int(torch.argmax(logits))
        new.append(nxt)
        seq.append(nxt)
    return new


# --------------------------------------------------------------------------
# Run every prompt
# --------------------------------------------------------------------------

OUT_DIR.mkdir(parents=True, exist_ok=True)
prompt_records = []
rotary = model.model.rotary_emb
inv_freq = {}
for t, suffix in (("sliding_attention", "local"), ("full_attention", "global")):
    f = getattr(rotary, f"{t}_inv_freq").detach().clone()                                # (128,)
    assert torch.equal(f, 1.0 / (ROPE_THETA[t] ** (torch.arange(0, D_HEAD, 2, dtype=torch.float) / D_HEAD)))
    assert getattr(rotary, f"{t}_attention_scaling") == 1.0
    inv_freq[t] = f
WINDOW_SIZE = {"sliding_attention": WINDOW, "full_attention": None}

for name, text in PROMPTS:
    enc = tok(text)
    ids = list(enc["input_ids"])
    tokens = tok.convert_ids_to_tokens(ids)
    # The tokenizer adds <bos> (id 2) by default: the GGUF says add_bos_token = True.
    plain = list(tok(text, add_special_tokens=False)["input_ids"])
    bos_added = ids != plain
    assert bos_added and ids == [cfg.bos_token_id] + plain
    T = len(ids)
    if name == "p2":
        assert T == P2_TOKENS and T > WINDOW, T
    rows = list(range(T)) if T <= FULL_ROWS_MAX_T else ROWS_P2
    full = rows == list(range(T))
    R = torch.tensor(rows)

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
        for key in ["x", "attn_norm_in", "attn_out", "post_attn_norm", "ffn_norm", "gate", "up", "ffn_act",
                    "ffn_out", "post_ffn_norm", "out"]:
            arrays[key] = stack(key)
        n_rec = len(LAYERS)
        types = [LAYER_TYPES[L] for L in LAYERS]

        q_pre = torch.stack([split_heads(rec[("q_lin", L)], N_HEADS) for L in LAYERS])    # (6,4,T,256)
        k_pre = torch.stack([split_heads(rec[("k_lin", L)], N_KV) for L in LAYERS])       # (6,1,T,256)
        v = torch.stack([split_heads(rec[("v_lin", L)], N_KV) for L in LAYERS])           # (6,1,T,256)
        q_normed = stack("q_normed")                                                      # (6,4,T,256)
        k_normed = stack("k_normed")                                                      # (6,1,T,256)

        # Every RMSNorm, recomputed: by the module itself, and by hand with the file's g.
        for i, L in enumerate(LAYERS):
            layer = model.model.layers[L]
            att = layer.self_attn
            for key, module, inp in (
                ("attn_norm_in", layer.input_layernorm, arrays["x"][i]),
                ("post_attn_norm", layer.post_attention_layernorm, arrays["attn_out"][i]),
                ("ffn_norm", layer.pre_feedforward_layernorm, rec[("attn_residual_in", L)]),
                ("post_ffn_norm", layer.post_feedforward_layernorm, arrays["ffn_out"][i]),
                ("q_normed", att.q_norm, q_pre[i]),
                ("k_normed", att.k_norm, k_pre[i]),
            ):
                want = q_normed[i] if key == "q_normed" else k_normed[i] if key == "k_normed" else arrays[key][i]
                assert torch.equal(module(inp), want), (name, key, L)
                g_file = torch.from_numpy(np.array(gguf_tensors[GGUF_NAME[module]].data, dtype=np.float32))
                assert torch.equal(rmsnorm_by_hand(inp, g_file), want), (name, key, L)

        # RoPE with the model's own rotary module and apply_rotary_pos_emb, per layer type.
        pos = torch.arange(T).unsqueeze(0)
        cos, sin = {}, {}
        for t in ("sliding_attention", "full_attention"):
            c, s = rotary(arrays["x"][:1], pos, t)                                        # (1,T,256) each
            freqs = pos[0, :, None].float() * inv_freq[t]
            assert torch.equal(c[0], torch.cat([freqs, freqs], -1).cos())
            assert torch.equal(s[0], torch.cat([freqs, freqs], -1).sin())
            cos[t], sin[t] = c, s
        for L in range(N_LAYERS):   # every layer got the tables of its type
            c, s = rec[("pos_emb", L)]
            assert torch.equal(c, cos[LAYER_TYPES[L]]) and torch.equal(s, sin[LAYER_TYPES[L]])
        q = torch.empty_like(q_normed)
        k = torch.empty_like(k_normed)
        for i, L in enumerate(LAYERS):
            q[i], k[i] = _orig_rope(q_normed[i:i + 1], k_normed[i:i + 1], cos[types[i]], sin[types[i]])
        # ...and they are exactly what the model itself computed inside attention.
        assert len(_rope_calls) == N_LAYERS
        for i, L in enumerate(LAYERS):
            assert torch.equal(q[i], _rope_calls[L][0]) and torch.equal(k[i], _rope_calls[L][1])

        scores = q @ rep_kv(k).transpose(-1, -2)                                          # (6,4,T,T)
        # HF multiplies by scaling = 256**-0.5 = 0.0625; dividing by 16 is the
        # same operation bit for bit (power of two).
        scaled = scores * SCALE
        assert torch.equal(scaled, scores / 16)
        qi = torch.arange(T)[:, None]
        kj = torch.arange(T)[None, :]
        blocked = {
            "full_attention": kj > qi,                                                    # True = masked
            "sliding_attention": (kj > qi) | (kj <= qi - WINDOW),                         # keep i-511..i
        }
        masked = torch.stack([scaled[i].masked_fill(blocked[types[i]], float("-inf")) for i in range(n_rec)])

        # The masks the model actually used: additive, 0 where allowed and a huge
        # negative (finfo.min) elsewhere; softmax gives exactly 0 there either way.
        for L in range(N_LAYERS):
            m = rec[("mask", L)]
            assert m is not None
            m = m.reshape(-1, T, T)[0]
            want = blocked[LAYER_TYPES[L]]
            if m.dtype == torch.bool:            # True = attend
                assert torch.equal(~m, want)
            else:
                assert torch.equal(m != 0, want) and (m[want] <= -1e30).all()
        if T > WINDOW:                           # the window really cuts something
            assert not torch.equal(blocked["sliding_attention"], blocked["full_attention"])

        # Weights straight from the model; check they are softmax(masked).
        weights_all = torch.stack([a[0] for a in result.attentions])                      # (18,4,T,T)
        weights = weights_all[LAYERS]
        d_w = assert_close(f"{name} weights vs softmax(masked)", weights, torch.softmax(masked, dim=-1), 1e-6)
        for L in range(N_LAYERS):                # exact zeros where masked, per type
            assert (weights_all[L][:, blocked[LAYER_TYPES[L]]] == 0).all()
            if full:                             # and (short prompts) no allowed weight underflows
                assert (weights_all[L][:, ~blocked[LAYER_TYPES[L]]] > 0).all()

        z = weights @ rep_kv(v)                                                           # (6,4,T,256)
        z_cat = z.transpose(1, 2).reshape(n_rec, T, N_HEADS * D_HEAD)
        d_z = assert_close(f"{name} concat(z) vs o_proj input", z_cat, stack("concat"), 1e-6)
        for i, L in enumerate(LAYERS):
            att = model.model.layers[L].self_attn
            assert torch.equal(att.o_proj(stack("concat")[i]), arrays["attn_out"][i])
            d_o = assert_close(f"{name} concat(z) @ W_O", z_cat[i] @ att.o_proj.weight.T, arrays["attn_out"][i], 1e-4)

        arrays["attn_residual"] = arrays["x"] + arrays["post_attn_norm"]
        assert torch.equal(arrays["attn_residual"], stack("attn_residual_in"))
        gelu = torch.nn.functional.gelu(arrays["gate"], approximate="tanh")
        assert torch.equal(gelu * arrays["up"], arrays["ffn_act"])
        assert torch.equal(arrays["out"], arrays["attn_residual"] + arrays["post_ffn_norm"])

        out_all = torch.stack([rec[("out", L)] for L in range(N_LAYERS)])                # (18,T,640)
        embeddings = rec[("embeddings", None)]                                            # (T,640)
        E = model.model.embed_tokens.weight
        assert torch.equal(embeddings, E[torch.tensor(ids)] * EMBED_SCALE)
        assert torch.equal(rec[("x", 0)], embeddings)
        for L in range(1, N_LAYERS):
            assert torch.equal(rec[("x", L)], out_all[L - 1])
        final_norm = rec[("final_norm", None)]                                            # (T,640)
        assert torch.equal(final_norm, model.model.norm(out_all[-1]))
        logits_last = rec[("logits", None)][-1]                                           # (262144,)
        assert torch.equal(logits_last, result.logits[0, -1])
        d_l = assert_close(f"{name} logits vs final_norm @ E^T", final_norm[-1] @ E.T, logits_last, 1e-4)

        probs = torch.softmax(logits_last, dim=-1)
        top_p, top_i = probs.topk(5)
        top5 = [
            {"id": int(i), "token": tok.convert_ids_to_tokens(int(i)), "text": tok.decode([int(i)]),
             "prob": float(p), "logit": float(logits_last[i])}
            for p, i in zip(top_p, top_i)
        ]

        # Greedy continuation: generate() (KV cache, stops at eos_token_id = 1,
        # <eos>) versus a plain argmax loop over full forwards without cache.
        gen = model.generate(input_ids, attention_mask=torch.ones_like(input_ids),
                             max_new_tokens=N_NEW, do_sample=False)
        greedy_ids = gen[0, T:].tolist()
        argmax12 = greedy_no_cache(ids, N_NEW)
        stopped_at_eos = len(greedy_ids) < N_NEW
        if stopped_at_eos:
            assert greedy_ids[-1] == cfg.eos_token_id
        assert argmax12[: len(greedy_ids)] == greedy_ids, (greedy_ids, argmax12)
        assert greedy_ids[0] == int(top_i[0])

        # Keep the stored rows only (every position for p0/p1).
        def rows_of(t, axis):
            return t if full else t.index_select(axis, R)

        arrays = {key: rows_of(a, 1) for key, a in arrays.items()}                        # (6,R,...)
        arrays.update(
            embeddings=rows_of(embeddings, 0),
            q_prerope=rows_of(q_pre, 2), k_prerope=rows_of(k_pre, 2), v=rows_of(v, 2),
            q_normed=rows_of(q_normed, 2), k_normed=rows_of(k_normed, 2),
            q=rows_of(q, 2), k=rows_of(k, 2),
            scores=rows_of(scores, 2), scaled=rows_of(scaled, 2), masked=rows_of(masked, 2),
            weights=rows_of(weights, 2), z=rows_of(z, 2),
            out_all=rows_of(out_all, 1), final_norm=rows_of(final_norm, 0), logits_last=logits_last,
            rope_inv_freq_local=inv_freq["sliding_attention"], rope_inv_freq_global=inv_freq["full_attention"],
            rope_cos_local=rows_of(cos["sliding_attention"][0], 0), rope_sin_local=rows_of(sin["sliding_attention"][0], 0),
            rope_cos_global=rows_of(cos["full_attention"][0], 0), rope_sin_global=rows_of(sin["full_attention"][0], 0),
        )
        if full:
            arrays["weights_all"] = weights_all
        else:
            assert name == "p2"
            for key in P2_LEAVES_OUT:
                arrays.pop(key, None)

    # numpy-side sanity checks on exactly what gets written.
    np_arr = {key: f32(t) for key, t in arrays.items()}
    w = np_arr["weights"]
    assert np.allclose(w.sum(-1), 1.0, atol=1e-6)
    assert (w[..., 0, 0] == 1).all() and rows[0] == 0           # token 0 sees only itself
    for i, L in enumerate(LAYERS):
        blk = blocked[types[i]].numpy()[rows]                   # (R, T)
        assert (w[i][:, blk] == 0).all()
        assert np.isneginf(np_arr["masked"][i][:, blk]).all()
        assert np.isfinite(np_arr["masked"][i][:, ~blk]).all()
        assert np.array_equal(f32(scaled)[i][:, rows][:, ~blk], np_arr["masked"][i][:, ~blk])
        if L > 0:
            assert np.array_equal(np_arr["x"][i], np_arr["out_all"][L - 1])
        # Fact 5, from the stored rows: which keys each query row may see.
        for r, i_pos in enumerate(rows):
            seen = np.flatnonzero(np.isfinite(np_arr["masked"][i][0, r]))
            lo = max(0, i_pos - WINDOW + 1) if types[i] == "sliding_attention" else 0
            assert seen.tolist() == list(range(lo, i_pos + 1)), (name, L, i_pos)
    if T > WINDOW:   # row 512 of a sliding layer has lost key 0; a full layer still sees it
        r512 = rows.index(512)
        assert np.isneginf(np_arr["masked"][LAYERS.index(0)][:, r512, 0]).all()
        assert np.isfinite(np_arr["masked"][LAYERS.index(5)][:, r512, 0]).all()
    assert np.array_equal(np_arr["out"], np_arr["out_all"][LAYERS])
    assert np.array_equal(np_arr["x"][0], np_arr["embeddings"])
    if "weights_all" in np_arr:
        assert np.array_equal(np_arr["weights"], np_arr["weights_all"][LAYERS])
    for key, a in np_arr.items():
        assert a.dtype == np.dtype("<f4") and a.flags.c_contiguous
        if key != "masked":
            assert np.isfinite(a).all(), key

    pdir = OUT_DIR / name
    pdir.mkdir(parents=True, exist_ok=True)
    for old in pdir.glob("*.npy"):
        old.unlink()
    for key, a in np_arr.items():
        np.save(pdir / f"{key}.npy", a)

    greedy_text = tok.decode(greedy_ids)
    print(f"{name}: T={T} rows={len(rows)}  max|weights-softmax|={d_w:.2e}  "
          f"max|concat(z)-o_proj_in|={d_z:.2e}  max|final_norm@E^T-logits|={d_l:.2e}")
    print(f"    tokens: {tokens[:12]}{' ...' if T > 12 else ''}")
    print(f"    top5: {[(t['token'], round(t['prob'], 4)) for t in top5]}")
    print(f"    greedy: {greedy_ids} {greedy_text!r}  (argmax loop: {argmax12})")
    prompt_records.append({
        "name": name,
        "text": text,
        "ids": ids,
        "tokens": tokens,
        "bos_added": bos_added,
        "n_tokens": T,
        "rows": rows,
        "files": sorted(f"{key}.npy" for key in np_arr),
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
modeling_gemma3.apply_rotary_pos_emb = _orig_rope

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
    "layer_info": [
        {"layer": L, "type": LAYER_TYPES[L], "rope_theta": ROPE_THETA[LAYER_TYPES[L]],
         "sliding_window": WINDOW_SIZE[LAYER_TYPES[L]]}
        for L in LAYERS
    ],
    "layer_types": LAYER_TYPES,
    "n_new_tokens": N_NEW,
    "bos_token": tok.bos_token,
    "bos_token_id": tok.bos_token_id,
    "eos_token": tok.eos_token,
    "eos_token_id": tok.eos_token_id,
    "rms_norm_eps": cfg.rms_norm_eps,
    "rope_theta_local": ROPE_THETA["sliding_attention"],
    "rope_theta_global": ROPE_THETA["full_attention"],
    "sliding_window": WINDOW,
    "sliding_window_rule": "sliding layers: query i sees keys j with i - 511 <= j <= i; full layers: j <= i",
    "query_pre_attn_scalar": cfg.query_pre_attn_scalar,
    "attention_scale": SCALE,
    "embed_scale": EMBED_SCALE.item(),
    "final_logit_softcapping": cfg.final_logit_softcapping,
    "attn_logit_softcapping": cfg.attn_logit_softcapping,
    "hidden_activation": cfg.hidden_activation,
    "norm_weights": "the GGUF stores 1 + w for every norm; transformers loads w = g - 1 and computes "
                    "x * rsqrt(mean(x^2) + eps) * (1 + w) in float32; 1 + (g - 1) == g for every value",
    "gguf_metadata": GGUF_META,
    "gguf_tensors": {k: v for k, v in TENSOR_MAP.items() if not k.startswith("blk.") or k.startswith("blk.0.")},
    "prompts": prompt_records,
}
with open(OUT_DIR / "prompts.json", "w", encoding="utf-8") as f:
    json.dump(meta, f, ensure_ascii=False, indent=2)
    f.write("\n")
print(f"wrote {OUT_DIR}")
