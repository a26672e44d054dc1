#!/usr/bin/env bash
# Makes the Python venv for the comparison benchmark (outside the build; ignored by git).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=.venv-bench
if [ ! -x $venv/bin/python ]; then
  python3 -m venv $venv
  # The CPU build of torch; the versions that made the reference fixtures.
  $venv/bin/pip install --quiet torch==2.13.0 --extra-index-url https://download.pytorch.org/whl/cpu \
    || $venv/bin/pip install --quiet torch==2.13.0
  $venv/bin/pip install --quiet transformers==5.23.0 tokenizers==0.23.3 numpy
fi
echo "$venv/bin/python"
