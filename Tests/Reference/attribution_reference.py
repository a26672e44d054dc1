#!/usr/bin/env python3
"""Reference fixture for attn's `attribute` (direct logit attribution): what each layer's
attention and MLP of SmolLM2-135M-Instruct write into the residual stream of the last
position, read through the final RMSNorm with its scale frozen and the unembedding row of the
model's top next token, as Hugging Face transformers computes it with forward hooks.

    contribution(part) = (part[last] * g_final / rms(out[last])) . E[t]
    rms(x) = sqrt(mean(x^2) + eps),   out = the input of model.norm,   t = argmax of the logits

The parts: the token embedding, each layer's o_proj output (all heads together: hooks see the
projection, not the heads) and each layer's MLP output. Their sum is the logit of t.

Usage:
    /tmp/refvenv/bin/python Tests/Reference/attribution_reference.py [MODEL_DIR] [OUT]

    MODEL_DIR  directory holding SmolLM2-135M-Instruct.Q4_1.gguf (default: ~/.cache/attn/models/smollm2)
    OUT        default: <repo>/Tests/AttnCoreTests/Fixtures/attribution-reference.json
"""
import json
import os
import sys
from importlib.metadata import version
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SENTENCE = "The capital of France is"


def main() -> None:
    repo = Path(__file__).resolve().parents[2]
    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(os.path.expanduser("~/.cache/attn/models/smollm2"))
    out_path = Path(sys.argv[2]) if len(sys.argv) > 2 else repo / "Tests/AttnCoreTests/Fixtures/attribution-reference.json"
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=GGUF)
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=GGUF, dtype=torch.float32,
                                                 attn_implementation="eager").eval()
    ids = tokenizer(SENTENCE, add_special_tokens=False, return_tensors="pt").input_ids

    captured = {}

    def keep(name):
        def hook(module, inputs, output):
            value = output[0] if isinstance(output, tuple) else output
            captured[name] = value[0, -1].detach().clone()
        return hook

    def keep_input(name):
        def hook(module, inputs):
            captured[name] = inputs[0][0, -1].detach().clone()
        return hook

    handles = []
    for l, layer in enumerate(model.model.layers):
        handles.append(layer.self_attn.register_forward_hook(keep(f"attn{l}")))
        handles.append(layer.mlp.register_forward_hook(keep(f"mlp{l}")))
    handles.append(model.model.embed_tokens.register_forward_hook(keep("embedding")))
    handles.append(model.model.norm.register_forward_pre_hook(keep_input("out")))
    with torch.no_grad():
        logits = model(ids).logits[0, -1]
    for h in handles:
        h.remove()

    target = int(torch.argmax(logits))
    eps = model.config.rms_norm_eps
    out = captured["out"]
    inverse = 1.0 / torch.sqrt((out * out).mean() + eps)
    direction = (model.model.norm.weight * inverse * model.lm_head.weight[target]).detach()

    def read(v):
        return float((v * direction).sum())

    layers = len(model.model.layers)
    attention = [read(captured[f"attn{l}"]) for l in range(layers)]
    mlp = [read(captured[f"mlp{l}"]) for l in range(layers)]
    embedding = read(captured["embedding"])
    fixture = {
        "made_by": f"Tests/Reference/attribution_reference.py (transformers {version('transformers')}, torch {version('torch')})",
        "sentence": SENTENCE,
        "ids": ids[0].tolist(),
        "target": target,
        "logit": float(logits[target]),
        "rms_inverse": float(inverse),
        "embedding": embedding,
        "attention": attention,
        "mlp": mlp,
        "sum": embedding + sum(attention) + sum(mlp),
    }
    out_path.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {out_path}: logit {fixture['logit']:.6f}, sum of parts {fixture['sum']:.6f}")


if __name__ == "__main__":
    main()
