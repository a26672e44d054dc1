#!/usr/bin/env bash
# make portability: the whole test suite, golden lesson transcripts included, under every OpenBLAS
# kernel this CPU can run, against the same committed files.
#
# OpenBLAS picks its kernels for the CPU (Haswell on AVX2, SkylakeX or Cooperlake on AVX-512, Zen
# on AMD…), and each adds the products of a matrix product in its own order, so the last digits of
# a sum differ from one machine to the next. The tests compare words and tokens exactly and
# numbers within float32 rounding (Sources/Notebook/Lessons/NumericText.swift); this script is how we
# know that holds on machines we do not have. Not part of make test or CI: they run on whatever
# kernel the machine picks, as a user's machine does.
#
# The same goes for attn's own kernel for quantized weights (Sources/CKernels/quantized.c), which
# takes AVX-512, AVX2 or portable C by the CPU: the last runs ask for the narrower ones
# (ATTN_QUANTIZED_KERNEL), with OpenBLAS's own choice.
#
# Usage: Tests/portability.sh [--lessons]   (--lessons: only the lesson transcripts, ~15 s a kernel)
set -uo pipefail
cd "$(dirname "$0")/.."

filter=()
[ "${1:-}" = "--lessons" ] && filter=(--filter LessonGoldenTests)

flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
has() { [[ " $flags " == *" $1 "* ]]; }
kernels=("")  # unset: what OpenBLAS picks for this CPU (and the widest quantized kernel)
has avx && kernels+=(Sandybridge)
has avx2 && kernels+=(Haswell)
grep -qi 'AuthenticAMD' /proc/cpuinfo 2>/dev/null && has avx2 && kernels+=(Zen)
has avx512f && has avx512bw && has avx512vl && kernels+=(SkylakeX)
has avx512_bf16 && kernels+=(Cooperlake)
# attn's quantized kernel, narrower than the CPU's widest (OpenBLAS unset).
has avx512f && has avx2 && kernels+=(quantized:avx2)
kernels+=(quantized:portable)

swift build --build-tests >/dev/null || { echo "portability: the build failed" >&2; exit 1; }
failed=()
for kernel in "${kernels[@]}"; do
  label=${kernel:-"unset (OpenBLAS's own choice)"}
  log=$(mktemp)
  if [[ "$kernel" == quantized:* ]]; then
    label="unset, ATTN_QUANTIZED_KERNEL=${kernel#quantized:}"
    env -u OPENBLAS_CORETYPE ATTN_QUANTIZED_KERNEL=${kernel#quantized:} swift test --skip-build "${filter[@]}" >"$log" 2>&1
  elif [ -n "$kernel" ]; then
    OPENBLAS_CORETYPE=$kernel swift test --skip-build "${filter[@]}" >"$log" 2>&1
  else
    env -u OPENBLAS_CORETYPE swift test --skip-build "${filter[@]}" >"$log" 2>&1
  fi
  status=$?
  summary=$(grep -E '^(✔|✘) Test run with' "$log" | tail -1)
  if [ $status -eq 0 ]; then
    echo "OPENBLAS_CORETYPE=$label: passed  ${summary#✔ }"
  else
    echo "OPENBLAS_CORETYPE=$label: FAILED  ${summary#✘ }"
    grep -E -A4 '^✘ Test .*(recorded an issue|failed)' "$log" | grep -v '^--$' | head -40 | sed 's/^/    /'
    failed+=("$label")
  fi
  rm -f "$log"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "portability: failed under ${#failed[@]} of ${#kernels[@]} kernels" >&2
  exit 1
fi
echo "portability: passed under all ${#kernels[@]} kernels"
