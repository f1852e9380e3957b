#!/usr/bin/env bash
# HEaaN bootstrapping benchmark (preset FGb, N = 2^16; 2^15 and 2^11 slots); see bootstrap_heaan.py.
# Needs heaan-0.1.0+cpu-cp38-cp38-linux_x86_64.whl (CryptoLab's CPU wheel from the public HETAL repository,
# github.com/CryptoLabInc/HETAL) in benches/peers/wheels/ (gitignored: never commit the wheel or anything built from it).
# Usage: benches/peers/bootstrap_heaan.sh [THREADS ...] [-- ARGS for bootstrap_heaan.py]   (default threads: 1 2)
# Each thread count runs in its own process with OMP_NUM_THREADS set; output (Markdown + one JSON line) goes to stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv="$here/.venv-heaan"
wheel="$here/wheels/heaan-0.1.0+cpu-cp38-cp38-linux_x86_64.whl"
python=${HEAAN_PYTHON:-/root/.pyenv/versions/3.8.18/bin/python}
if [ ! -x "$venv/bin/python" ]; then
  if [ ! -f "$wheel" ]; then
    echo "missing $wheel: copy it from the HETAL repository (github.com/CryptoLabInc/HETAL) first" >&2
    exit 1
  fi
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q "$wheel" numpy
fi
threads=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do threads+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#threads[@]} -eq 0 ] && threads=(1 2)
for t in "${threads[@]}"; do
  OMP_NUM_THREADS=$t "$venv/bin/python" "$here/bootstrap_heaan.py" "$@"
done
