#!/usr/bin/env bash
# OpenFHE bootstrapping benchmark (PyPI wheel `openfhe`, Python 3.10; 128-bit, N = 2^16); see bootstrap_openfhe.py.
# Shares benches/peers/.venv with run.sh (same package).
# Usage: benches/peers/bootstrap_openfhe.sh [THREADS ...] [-- ARGS for bootstrap_openfhe.py]   (default threads: 1 2)
# Each thread count runs in its own process with OMP_NUM_THREADS set; output (Markdown + one JSON line) goes to stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv="$here/.venv"
python=${PEER_PYTHON:-/root/.pyenv/versions/3.10.13/bin/python}
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q openfhe numpy
fi
threads=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do threads+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#threads[@]} -eq 0 ] && threads=(1 2)
for t in "${threads[@]}"; do
  OMP_NUM_THREADS=$t "$venv/bin/python" "$here/bootstrap_openfhe.py" "$@"
done
