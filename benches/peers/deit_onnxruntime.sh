#!/usr/bin/env bash
# DeiT features: MedBlind vs onnxruntime (from PyPI) on the same weights and images; see deit_onnxruntime.py.
# Usage: benches/peers/deit_onnxruntime.sh [deit_tiny|deit_small] [IMAGES]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv="$here/.venv-ort"
if [ ! -x "$venv/bin/python" ]; then
  python=$(ls -d /root/.pyenv/versions/3.12*/bin/python 2>/dev/null | head -1 || true)
  "${python:-python3}" -m venv "$venv"
  "$venv/bin/pip" install -q onnx onnxruntime numpy safetensors
fi
(cd "$root" && cargo build --release -q -p medblind && cargo build --release -q -p medblind-benches --example vit_features)
"$venv/bin/python" "$here/deit_onnxruntime.py" "$@"
