"""A head's attention weights at 2048 tokens: attn against transformers, in the benchmark venv.

    python3 Tests/Benchmarks/long_context_check.py [TOKENS] [LAYER] [HEAD]   (defaults 2048 29 4)

The parity tests hold every step of SmolLM2 to transformers on short prompts; a long text adds
what they cannot see: RoPE at positions past 2000, a softmax over 2048 keys, and the row-by-row
scale, mask and softmax of a 2048 × 2048 buffer. This script builds a text of TOKENS tokens (the
lessons' prose, repeated as needed), lets the release `attn` trace it and export one head's
weights (`export weights`, .npy), runs the same ids through `LlamaForCausalLM` read from the same
GGUF (float32, eager attention; a forward hook keeps that one layer's weights, so the other 29
layers' 2048² × 9 matrices are never held), and prints the largest difference of any cell and of
any row sum, against the parity tests' tolerance for weights (1e-4). Exits 1 beyond it.

Needs the venv that setup.sh makes (or ATTN_BENCH_PYTHON's) and `swift build -c release`. Not part
of the test suite: it takes about a minute and 3 GB.
"""
import glob
import os
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
if os.environ.get("ATTN_LONG_CHECK_CHILD") != "1":
    # Run again under the benchmark venv's Python, which has torch and transformers.
    python = subprocess.run(["bash", os.path.join(here, "setup.sh")], check=True,
                            capture_output=True, text=True).stdout.strip().splitlines()[-1]
    env = dict(os.environ, ATTN_LONG_CHECK_CHILD="1")
    sys.exit(subprocess.run([os.path.join(root, python), os.path.abspath(__file__)] + sys.argv[1:], env=env).returncode)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

tokens = int(sys.argv[1]) if len(sys.argv) > 1 else 2048
layer = int(sys.argv[2]) if len(sys.argv) > 2 else 29
head = int(sys.argv[3]) if len(sys.argv) > 3 else 4
tolerance = 1e-4
models = os.environ.get("ATTN_MODELS") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "attn", "models")
directory = os.path.join(models, "smollm2")
gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
torch.set_num_threads(2)

tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=gguf)
# Plain words from the lessons, one line, cut at a word so that it is TOKENS tokens or just under.
words = " ".join(open(path, encoding="utf-8").read() for path in sorted(glob.glob(os.path.join(root, "Lessons", "[0-9]*.md"))))
words = [w for w in words.split() if w.isascii() and w.isalpha()]
words = (words * (1 + 4 * tokens // max(1, len(words))))[:4 * tokens]


def length(k):
    return len(tokenizer(" ".join(words[:k]), add_special_tokens=False)["input_ids"])


# The most words whose text is at most TOKENS tokens, by bisection.
low, high = 1, len(words)
while low < high:
    middle = (low + high + 1) // 2
    if length(middle) <= tokens:
        low = middle
    else:
        high = middle - 1
text = " ".join(words[:low])
ids = tokenizer(text, add_special_tokens=False)["input_ids"]

with tempfile.TemporaryDirectory() as scratch:
    out = os.path.join(scratch, "w.npy")
    script = f"model smollm2\nsentence {text}\nlayer {layer}\nhead {head}\nexport weights {out}\nexport tokens {out}.tsv\n"
    subprocess.run([os.path.join(root, ".build/release/attn")], input=script.encode(), check=True,
                   stdout=subprocess.DEVNULL)
    ours = np.load(out)
    attn_ids = [int(line.split("\t")[0]) for line in open(out + ".tsv", encoding="utf-8") if line.strip()]
if attn_ids != ids:
    print(f"the tokenizers disagree: attn {len(attn_ids)} ids, transformers {len(ids)}")
    sys.exit(1)

model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=gguf, dtype=torch.float32,
                                             attn_implementation="eager").eval()
kept = {}


def keep(module, args, output):
    # A hook that returns nothing leaves the layer's output as it is.
    kept["weights"] = output[1][0, head].detach().numpy().copy()


hook = model.model.layers[layer].self_attn.register_forward_hook(keep)
with torch.no_grad():
    model.model(input_ids=torch.tensor([ids]))  # the trunk only: no 2048 × 49152 logits
hook.remove()
theirs = kept["weights"]

cell = float(np.abs(ours - theirs).max())
rows = float(np.abs(ours.sum(axis=1) - 1).max())
print(f"SmolLM2, {len(ids)} tokens, layer {layer} head {head}: weights {ours.shape}")
print(f"  largest |attn − transformers| of a cell: {cell:.3g}   (tolerance {tolerance:g})")
print(f"  largest |row sum − 1| in attn: {rows:.3g}")
print(f"  last row's top key: attn {int(ours[-1].argmax())}, transformers {int(theirs[-1].argmax())}")
sys.exit(0 if cell <= tolerance else 1)
