#!/usr/bin/env bash
# DeiT features: MedBlind vs onnxruntime (from PyPI) on the same weights and images; see deit_onnxruntime.py.
# Usage: benches/peers/deit_onnxruntime.sh [deit_tiny|deit_small] [IMAGES]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$here/ort-venv.sh"
(cd "$root" && cargo build --release -q -p medblind && cargo build --release -q -p medblind-benches --example vit_features)
"$venv/bin/python" "$here/deit_onnxruntime.py" "$@"
