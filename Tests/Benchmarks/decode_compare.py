"""attn's greedy decoding against llama.cpp's, on the same GGUF file, in the same run.

    python3 Tests/Benchmarks/decode_compare.py [RUNS]      (make bench runs it when it can)

The peer is llama-cpp-python (2 threads, the CPU build): LLAMA_PYTHON names a Python that has
it (it builds llama.cpp from source, several minutes on 2 cores, so setup.sh leaves it out:
`python3 -m venv v && v/bin/pip install llama-cpp-python`). Each side runs as a whole job
twice per round, generating 1 token and N tokens from the same prompt; the difference is the
time of N - 1 decoding steps, free of start, load and prompt. The rounds alternate the two
sides. Reports each side's median tokens/s, the ratio, and whether the two continuations agree
(llama.cpp multiplies with int8 activations, so a late token may differ; attn's own
continuation is held to transformers' by the test suite). Standard library only.
"""
import os
import statistics
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
count = 200
python = os.environ.get("LLAMA_PYTHON", "")
gguf = os.path.expanduser("~/.cache/attn/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
prompt = "Once upon a time, in a small village by the sea, there lived"
attn = os.path.join(root, ".build/release/attn")

if not python or subprocess.run([python, "-c", "import llama_cpp"], capture_output=True).returncode != 0:
    print("decoding against llama.cpp: skipped (LLAMA_PYTHON names no Python with llama-cpp-python)")
    sys.exit(0)

# Without extra buffer types: the CPU build puts weights in AMX tiles where the CPU lists AMX,
# and a virtual machine that does not grant the tiles' state stops it with SIGILL. Repacking
# for AVX2/AVX-512 goes with them; the plain Q4_1 kernels remain.
peer = """
import sys
import llama_cpp.llama_cpp as low
from llama_cpp import Llama
default = low.llama_model_default_params
def without_extra_buffers():
    params = default()
    params.use_extra_bufts = False
    return params
low.llama_model_default_params = without_extra_buffers
m = Llama(model_path=sys.argv[1], n_threads=2, n_ctx=512, verbose=False)
out = m.create_completion(sys.argv[2], max_tokens=int(sys.argv[3]), temperature=0.0, top_k=1)
sys.stdout.write(out["choices"][0]["text"])
"""


def attn_job(n):
    script = f"model smollm2\nsentence {prompt}\ngenerate {n}\n".encode()
    start = time.perf_counter()
    out = subprocess.run([attn], input=script, check=True, capture_output=True).stdout.decode()
    return time.perf_counter() - start, out


def peer_job(n):
    start = time.perf_counter()
    out = subprocess.run([python, "-c", peer, gguf, prompt, str(n)], check=True, capture_output=True).stdout.decode()
    return time.perf_counter() - start, out


attn_job(1), peer_job(1)  # warm the page cache for both
attn_rates, peer_rates = [], []
for _ in range(runs):
    for job, rates in ((attn_job, attn_rates), (peer_job, peer_rates)):
        one, _ = job(1)
        many, text = job(count)
        rates.append((count - 1) / (many - one))
        if job is attn_job:
            attn_text = text
        else:
            peer_text = text
a, p = statistics.median(attn_rates), statistics.median(peer_rates)
print(f"SmolLM2 Q4_1 greedy decoding, {count} tokens, median of {runs} alternating rounds:")
print(f"  attn (Swift, release)           {a:7.1f} tokens/s")
print(f"  llama.cpp (llama-cpp-python)    {p:7.1f} tokens/s")
print(f"  attn at {a / p:.2f}× llama.cpp's rate     goal ≥ 1×")
words = peer_text.split()
agree = " ".join(words[:12]) in " ".join(attn_text.split())
print(f"  the first 12 words of llama.cpp's continuation {'are' if agree else 'are not'} attn's: {' '.join(words[:12])!r}")
