#!/usr/bin/env python3
"""The chat prompts of SmolLM2-135M-Instruct as transformers builds them, for `chat` in attn.

transformers reads the tokenizer and its chat template (`tokenizer.chat_template`) from the GGUF
file, `apply_chat_template(..., add_generation_prompt=True)` wraps each user text, and the prompt
string and its ids go into Tests/AttnCoreTests/Fixtures/smollm2-chat.json with the greedy answer
(`generate(do_sample=False)`, float32, the model dequantized from the same file):

    {"transformers": "5.23.0", "template": "{% for message in messages %}…",
     "cases": [{"text": "What is the capital of France?", "prompt": "<|im_start|>system\\n…",
                "ids": [1, 9690, …], "greedy": [504, 3575, …]}, ...]}

`GenerationTests.swift` renders the same texts with attn's `ChatTemplate` and tokenizer and
expects the same prompt and ids, and the same greedy answer. Python runs once, here.

Usage, from the repository root (a venv outside the repository, see requirements.txt):

    python3 -m venv /tmp/chatvenv && /tmp/chatvenv/bin/pip install -r Tests/Reference/requirements.txt
    /tmp/chatvenv/bin/python Tests/Reference/smollm2_chat.py [MODEL_DIR] [OUT_FILE]
"""

import json
import os
import sys
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

REPO = Path(__file__).resolve().parents[2]
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
TEXTS = ["What is the capital of France?", "Hi", "Tell me a joke about cats.\nKeep it short."]
GREEDY_TOKENS = 24


def default_model_dir() -> Path:
    if os.environ.get("ATTN_MODELS"):
        root = Path(os.environ["ATTN_MODELS"])
    elif os.environ.get("XDG_CACHE_HOME"):
        root = Path(os.environ["XDG_CACHE_HOME"]) / "attn" / "models"
    else:
        root = Path.home() / ".cache" / "attn" / "models"
    return root / "smollm2"


def main() -> None:
    model_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else default_model_dir()
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else REPO / "Tests/AttnCoreTests/Fixtures/smollm2-chat.json"
    tokenizer = AutoTokenizer.from_pretrained(model_dir, gguf_file=GGUF)
    model = AutoModelForCausalLM.from_pretrained(model_dir, gguf_file=GGUF, dtype=torch.float32)
    model.eval()
    cases = []
    for text in TEXTS:
        messages = [{"role": "user", "content": text}]
        prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        encoded = tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=True)
        if not isinstance(encoded, list):
            encoded = encoded["input_ids"]
        assert list(encoded) == list(ids), (encoded, ids)
        with torch.no_grad():
            generated = model.generate(torch.tensor([ids]), max_new_tokens=GREEDY_TOKENS, do_sample=False,
                                       eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"))
        cases.append({"text": text, "prompt": prompt, "ids": list(ids),
                      "greedy": generated[0, len(ids):].tolist()})
    fixture = {"transformers": transformers.__version__, "torch": torch.__version__,
               "template": tokenizer.chat_template, "cases": cases}
    out.write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {out}: {len(cases)} cases")


if __name__ == "__main__":
    main()
