"""attn against the Python stack, on the same job, measured in the same run.

    python3 Tests/Benchmarks/compare.py [RUNS]      (make bench runs it)

Alternates the two commands RUNS times (default 15): the release `attn` reading
`sentence …` and `weights` from a pipe, and hf_job.py with transformers on PyTorch (CPU).
Then LIME, 500 samples of a review on MiniLM and on SmolLM2 as whole jobs: `attn` reading
`sentence …` and `lime 500`, against lime_job.py, the `lime` package over transformers
(LIME_RUNS alternating runs each, default 3; 0 leaves LIME out). Reports each one's median wall time and the
ratio. Standard library only.
"""
import os
import statistics
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
lime_runs = int(os.environ.get("LIME_RUNS", "3"))
python = subprocess.run(["bash", os.path.join(here, "setup.sh")], check=True,
                        capture_output=True, text=True).stdout.strip().splitlines()[-1]

sentence = "the quick brown fox jumps over the lazy dog near the old river bank"
script = f"sentence {sentence}\nlayer 2\nhead 7\nweights\n".encode()
attn = [os.path.join(root, ".build/release/attn")]
hf = [os.path.join(root, python), os.path.join(here, "hf_job.py")]


def timed(command, stdin=None):
    start = time.perf_counter()
    subprocess.run(command, input=stdin, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


timed(attn, script), timed(hf)  # warm the page cache for both
attn_times, hf_times = [], []
for _ in range(runs):
    attn_times.append(timed(attn, script))
    hf_times.append(timed(hf))
a, h = statistics.median(attn_times), statistics.median(hf_times)
print(f"whole job, median of {runs} alternating runs:")
print(f"  attn (Swift, release)          {a * 1000:8.1f} ms   goal ≤ 50 ms")
print(f"  transformers + PyTorch (CPU)   {h * 1000:8.1f} ms")
print(f"  attn is {h / a:.1f}× faster     goal ≥ 100×")

# LIME: the reviews lime_job.py explains, each attn's default target.
reviews = {
    "minilm": "the film was slow at first but the acting was wonderful and the ending made me smile at last",
    "smollm2": "The film was slow at first, but the acting was wonderful and the ending made me smile",
}
goals = {"minilm": "goal ≤ 2 s", "smollm2": "goal ≤ 10 s"}
for model, review in (reviews.items() if lime_runs > 0 else []):
    lime_script = (f"model {model}\n" if model != "minilm" else "") + f"sentence {review}\nlime 500\n"
    lime_job = hf[:1] + [os.path.join(here, "lime_job.py"), model]
    attn_times, py_times = [], []
    for _ in range(lime_runs):
        attn_times.append(timed(attn, lime_script.encode()))
        py_times.append(timed(lime_job))
    a, p = statistics.median(attn_times), statistics.median(py_times)
    print(f"{model} lime 500 (whole job), median of {lime_runs} alternating runs:")
    print(f"  attn (Swift, release)          {a:8.2f} s    {goals[model]}")
    print(f"  lime + transformers (CPU)      {p:8.2f} s")
    print(f"  attn is {p / a:.1f}× faster     goal ≥ 10×")
