"""The learner's first job, written with Hugging Face transformers on PyTorch (CPU).

The same job `attn` does for `printf 'sentence …\nweights\n' | attn`: start, load
all-MiniLM-L6-v2 from the attn cache, tokenize a 16-token sentence, compute every step of every
layer (hidden states and attention weights of every head), print one matrix, exit.

Run by compare.py with the venv that setup.sh makes; not part of the test suite.
"""
import os
import sys

import torch
from transformers import AutoTokenizer, BertModel

SENTENCE = "the quick brown fox jumps over the lazy dog near the old river bank"
models = os.environ.get("ATTN_MODELS") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "attn", "models")
directory = sys.argv[1] if len(sys.argv) > 1 else os.path.join(models, "minilm")

torch.set_num_threads(2)
tokenizer = AutoTokenizer.from_pretrained(directory)
model = BertModel.from_pretrained(directory, attn_implementation="eager", dtype=torch.float32).eval()
with torch.no_grad():
    inputs = tokenizer(SENTENCE, return_tensors="pt")
    output = model(**inputs, output_attentions=True, output_hidden_states=True)
torch.set_printoptions(precision=4, linewidth=80)
print(output.attentions[2][0, 7])
