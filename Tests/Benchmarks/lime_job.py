"""LIME on a real model, as a Python user runs it: the `lime` package over transformers (CPU).

The same job `attn` does for `printf 'sentence …\nlime 500\n' | attn` (with `model smollm2` first
for the decoder): start, load the model from the attn cache, explain the default target of one
review with `LimeTextExplainer` (500 samples, words split at spaces, kernel width 25, every word
a feature), print the coefficients, exit. The classifier function gets the package's 500 texts at
once and runs them through the model in batches of 32, padded on the right, as
sentence-transformers' `encode` does:

- minilm: y = cos(e(text), e(review)), e = the mean of the last hidden state over the real
  tokens (attn's default encoder target);
- smollm2: y = p(top | text), top the most likely next token after the whole review (attn's
  default decoder target), from each text's last real position.

Run by compare.py with the venv that setup.sh makes; not part of the test suite.
"""
import os
import sys

import numpy as np
import torch
from lime.lime_text import LimeTextExplainer
from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

MINILM_REVIEW = "the film was slow at first but the acting was wonderful and the ending made me smile at last"
SMOLLM2_REVIEW = "The film was slow at first, but the acting was wonderful and the ending made me smile"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
BATCH = 32

kind = sys.argv[1] if len(sys.argv) > 1 else "minilm"
models = os.environ.get("ATTN_MODELS") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "attn", "models")
directory = os.path.join(models, kind)
torch.set_num_threads(2)


def batches(texts):
    for start in range(0, len(texts), BATCH):
        yield texts[start:start + BATCH]


if kind == "minilm":
    review = MINILM_REVIEW
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModel.from_pretrained(directory, dtype=torch.float32, attn_implementation="eager").eval()

    def embeddings(texts):
        out = []
        for batch in batches(texts):
            inputs = tokenizer(batch, return_tensors="pt", padding=True)
            with torch.no_grad():
                hidden = model(**inputs).last_hidden_state
            mask = inputs["attention_mask"].unsqueeze(-1).float()
            out.append((hidden * mask).sum(1) / mask.sum(1))
        return torch.cat(out).numpy().astype(np.float64)

    whole = embeddings([review])[0]

    def target(texts):
        e = embeddings(list(texts))
        y = e @ whole / (np.linalg.norm(e, axis=1) * np.linalg.norm(whole))
        return np.stack([1 - y, y], axis=1)
else:
    review = SMOLLM2_REVIEW
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=GGUF)
    tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=GGUF, dtype=torch.float32,
                                                 attn_implementation="eager").eval()

    def last_logits(texts):
        out = []
        for batch in batches(texts):
            # An empty text (every word removed) reads the end-of-text token alone.
            inputs = tokenizer([t if t else tokenizer.eos_token for t in batch], return_tensors="pt",
                               padding=True, add_special_tokens=False)
            with torch.no_grad():
                logits = model(**inputs).logits
            last = inputs["attention_mask"].sum(1) - 1
            out.append(logits[torch.arange(len(batch)), last])
        return torch.cat(out)

    top = int(last_logits([review])[0].argmax())

    def target(texts):
        p = torch.softmax(last_logits(list(texts)), dim=-1)[:, top].numpy().astype(np.float64)
        return np.stack([1 - p, p], axis=1)

words = review.split()
explainer = LimeTextExplainer(kernel_width=25, split_expression=lambda s: s.split(), bow=True, random_state=1)
explanation = explainer.explain_instance(review, target, labels=(1,), num_features=len(words), num_samples=500)
for word, beta in explanation.as_list(label=1):
    print(f"{word:>12} {beta:+.4f}")
