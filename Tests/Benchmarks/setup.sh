#!/usr/bin/env bash
# Makes the Python venv for the comparison benchmark (outside the build; ignored by git), and
# adds what a venv made before lime_job.py lacks. ATTN_BENCH_PYTHON names a Python that already
# has these packages (e.g. the reference venv of Tests/Reference/requirements.txt) instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -n "${ATTN_BENCH_PYTHON:-}" ]; then echo "$ATTN_BENCH_PYTHON"; exit 0; fi
venv=.venv-bench
[ -x $venv/bin/python ] || python3 -m venv $venv
if ! $venv/bin/python -c "import torch, transformers, gguf, accelerate, lime, sklearn" 2>/dev/null; then
  # The CPU build of torch; the versions that made the reference fixtures.
  $venv/bin/pip install --quiet --timeout 15 --retries 0 torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    || $venv/bin/pip install --quiet torch==2.13.0
  $venv/bin/pip install --quiet transformers==5.23.0 tokenizers==0.23.3 numpy gguf==0.19.0 accelerate==1.15.0 \
    lime==0.2.0.1 scikit-learn==1.9.1
fi
echo "$venv/bin/python"
