#!/usr/bin/env bash
# DESILO FHE bootstrapping benchmark (full slots); see bootstrap_desilo.py.
# Installs desilofhe from PyPI into benches/peers/.venv-desilo with Python 3.11 (gitignored).
# Usage: benches/peers/bootstrap_desilo.sh [THREADS ...] [-- ARGS for bootstrap_desilo.py]   (default threads: 1 2)
# Each thread count runs in its own process; output (Markdown + one JSON line) goes to stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv="$here/.venv-desilo"
python=${DESILO_PYTHON:-/root/.pyenv/versions/3.11.7/bin/python}
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q "desilofhe==2.0.0" numpy
fi
threads=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do threads+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#threads[@]} -eq 0 ] && threads=(1 2)
for t in "${threads[@]}"; do
  "$venv/bin/python" "$here/bootstrap_desilo.py" --threads "$t" "$@"
done
