#!/usr/bin/env python3
"""LIME's numbers from the `lime` package and transformers, for `target`, `classify` and `lime` in attn.

For each case (a model, a sentence, a target), the script

1. draws perturbation masks with the package's own sampler, `LimeTextExplainer`'s
   `__data_labels_distances` (random_state fixed), on an `IndexedString` whose words are the
   sentence's whitespace-separated pieces (`split_expression=str.split`, `bow=True`: a word that
   comes twice is one feature). It returns the masks and the package's distances
   (sklearn's cosine distance × 100). The first mask keeps every word. A plain decoder target
   (no template) cannot run on an empty text, so a mask that removes every word is dropped there;
2. builds each sample's text as attn does: the kept words joined by one space (the package keeps
   the separators, which would leave two spaces where a word was);
3. computes the target of each text with transformers, float32, eager attention:
   - MiniLM (`BertModel`): e = the mean over the tokens of the last hidden state (sentence-
     transformers' mean pooling; one unpadded sentence, so every token counts);
     `like`: cos(e(x), e(other)); `classify`: softmax over the labels of 20 · cos(e(x),
     e("this is LABEL")), in float64;
   - SmolLM2 (`LlamaForCausalLM` from the GGUF file): the logits of the last position;
     `classify`: the prompt "Review: {sentence}\\nSentiment:" tokenized in three parts ("Review:",
     " " + text, "\\nSentiment:") and joined, p(k) = softmax over the labels' first tokens (" " +
     label) of their logits, in float64, which is p(tₖ) / Σⱼ p(tⱼ); `difference`: p(a) − p(b) with
     p = softmax(logits) in float32;
4. fits the package's own ridge step on those masks, targets and distances:
   `LimeBase.explain_instance_with_data(data, labels, distances, 0, d, feature_selection='none')`
   (kernel √exp(−D²/25²), sklearn `Ridge(alpha=1)` with `sample_weight`), and records its
   intercept, coefficients (in feature order), score (weighted R²) and local prediction.

It writes Tests/AttnCoreTests/Fixtures/lime-reference.json:

    {"lime": "0.2.0.1", "sklearn": …, "transformers": …, "torch": …, "kernel_width": 25,
     "cases": [{"name", "model", "sentence", "commands": ["classify positive|negative"],
                "words", "masks" (N × d, 0/1), "texts", "ids", "distances", "weights",
                "targets", "intercept", "coefficients", "score", "local_prediction"}, …]}

`LimeTests.swift` runs the same commands in attn, computes its targets for the same masks on
the real models and expects them within 1e-4 (relative) of these, and expects attn's ridge on
the same masks (with these targets and with its own) to give the package's coefficients.

Usage, from the repository root (a venv outside the repository with transformers, see
requirements.txt, which pins lime 0.2.0.1 and scikit-learn 1.9.1):

    /tmp/limevenv/bin/python Tests/Reference/lime_reference.py [MODELS_DIR] [OUT_FILE]

`MODELS_DIR` holds `minilm/` and `smollm2/` (default: $ATTN_MODELS, else
$XDG_CACHE_HOME/attn/models, else ~/.cache/attn/models). The output is deterministic (one torch
thread, a fixed random_state).
"""

import json
import os
import sys
from pathlib import Path

import lime
import numpy as np
import sklearn
import torch
import transformers
from importlib.metadata import version
from lime.lime_text import IndexedString, LimeTextExplainer
from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

REPO = Path(__file__).resolve().parents[2]
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
PREFIX, SUFFIX = "Review:", "\nSentiment:"
SCALE = 20.0

CASES = [
    {"name": "minilm-classify", "model": "minilm",
     "sentence": "the plot was thin but the acting was wonderful and the ending made me smile",
     "commands": ["classify positive|negative"], "target": ("classify", ["positive", "negative"]),
     "samples": 60, "seed": 1},
    {"name": "minilm-like", "model": "minilm",
     "sentence": "a quiet film about grief that left me in tears",
     "commands": ['target like "a sad story"'], "target": ("like", "a sad story"),
     "samples": 60, "seed": 2},
    {"name": "smollm2-classify", "model": "smollm2",
     "sentence": "I loved this movie, the acting was wonderful but the ending was slow",
     "commands": ["classify positive|negative"], "target": ("classify", ["positive", "negative"]),
     "samples": 30, "seed": 3},
    {"name": "smollm2-difference", "model": "smollm2",
     "sentence": "The capital of France is",
     "commands": ["target ·Paris - ·London"], "target": ("difference", [" Paris", " London"]),
     "samples": 30, "seed": 4},
]


def models_dir() -> Path:
    if os.environ.get("ATTN_MODELS"):
        return Path(os.environ["ATTN_MODELS"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "attn" / "models"
    return Path.home() / ".cache" / "attn" / "models"


class MiniLM:
    def __init__(self, directory: Path):
        self.tokenizer = AutoTokenizer.from_pretrained(directory)
        self.model = AutoModel.from_pretrained(directory, dtype=torch.float32, attn_implementation="eager").eval()

    def ids(self, text):
        return self.tokenizer(text)["input_ids"]

    def embedding(self, ids):
        with torch.no_grad():
            out = self.model(input_ids=torch.tensor([ids])).last_hidden_state[0]
        return out.mean(dim=0).numpy().astype(np.float64)

    def target(self, target, ids):
        e = self.embedding(ids)
        kind, what = target
        if kind == "like":
            return cosine(e, self.embedding(self.ids(what)))
        cosines = np.array([cosine(e, self.embedding(self.ids("this is " + label))) for label in what])
        return softmax(SCALE * cosines)[0]


class SmolLM2:
    def __init__(self, directory: Path):
        self.tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=GGUF)
        self.model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=GGUF, dtype=torch.float32,
                                                          attn_implementation="eager").eval()

    def encode(self, text):
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def ids(self, text, target):
        if target[0] == "classify":
            return self.encode(PREFIX) + self.encode(" " + text) + self.encode(SUFFIX)
        return self.encode(text)

    def target(self, target, ids):
        with torch.no_grad():
            logits = self.model(input_ids=torch.tensor([ids])).logits[0, -1]
        kind, what = target
        if kind == "classify":
            tokens = [self.encode(" " + label)[0] for label in what]
            return softmax(logits[tokens].numpy().astype(np.float64))[0]
        a, b = (self.encode(token) for token in what)
        assert len(a) == 1 and len(b) == 1, what
        p = torch.softmax(logits, dim=-1).numpy().astype(np.float64)
        return p[a[0]] - p[b[0]]


def cosine(a, b):
    return float(a @ b / (np.sqrt(a @ a) * np.sqrt(b @ b)))


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def run(case, model):
    indexed = IndexedString(case["sentence"], split_expression=lambda s: s.split(), bow=True)
    words = [indexed.word(i) for i in range(indexed.num_words())]
    explainer = LimeTextExplainer(kernel_width=25, split_expression=lambda s: s.split(), bow=True,
                                  random_state=case["seed"])
    plain_decoder = case["target"][0] == "difference"
    masks, distances = [], []
    while len(masks) < case["samples"]:
        data, _, dist = explainer._LimeTextExplainer__data_labels_distances(
            indexed, lambda texts: np.zeros((len(texts), 1)), case["samples"])
        for row, d in zip(data, dist):
            if len(masks) == case["samples"] or (plain_decoder and row.sum() == 0):
                continue
            if masks and row.sum() == len(words):  # the package's first row, from the second draw on
                continue
            masks.append(row.astype(int))
            distances.append(float(d))
    masks = np.array(masks)
    sequence = [words.index(w) for w in case["sentence"].split()]
    texts = [" ".join(words[f] for f in sequence if m[f]) for m in masks]
    if case["model"] == "minilm":
        ids = [model.ids(t) for t in texts]
    else:
        ids = [model.ids(t, case["target"]) for t in texts]
    targets = np.array([model.target(case["target"], i) for i in ids])
    distances = np.array(distances)
    weights = explainer.base.kernel_fn(distances)
    intercept, explanation, score, local = explainer.base.explain_instance_with_data(
        masks.astype(float), targets.reshape(-1, 1), distances, 0, len(words), feature_selection="none")
    coefficients = [0.0] * len(words)
    for feature, beta in explanation:
        coefficients[int(feature)] = float(beta)
    return {
        "name": case["name"], "model": case["model"], "sentence": case["sentence"], "commands": case["commands"],
        "words": words, "masks": masks.tolist(), "texts": texts, "ids": ids,
        "distances": distances.tolist(), "weights": weights.tolist(), "targets": targets.tolist(),
        "intercept": float(intercept), "coefficients": coefficients, "score": float(score),
        "local_prediction": float(np.ravel(local)[0]),
    }


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else models_dir()
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else REPO / "Tests/AttnCoreTests/Fixtures/lime-reference.json"
    torch.set_num_threads(1)
    models = {"minilm": MiniLM(root / "minilm"), "smollm2": SmolLM2(root / "smollm2")}
    cases = [run(case, models[case["model"]]) for case in CASES]
    document = {"lime": version("lime"), "sklearn": sklearn.__version__, "transformers": transformers.__version__,
                "torch": torch.__version__, "numpy": np.__version__, "kernel_width": 25, "cases": cases}
    text = json.dumps(document, ensure_ascii=False, indent=None, separators=(",", ":"))
    # One case and one list of the masks a line, for a readable diff.
    text = text.replace(',{"name"', ',\n{"name"').replace('"cases":[', '"cases":[\n')
    out.write_text(text + "\n", encoding="utf-8")
    for case in cases:
        print(f'{case["name"]}: {len(case["masks"])} samples, {len(case["words"])} words, '
              f'R² {case["score"]:.4f}, intercept {case["intercept"]:.4f}')


if __name__ == "__main__":
    main()
