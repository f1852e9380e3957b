# Sourced by the onnxruntime peer scripts (with $here set to this folder): makes $venv, a Python virtual environment
# with onnx, onnxruntime, numpy and safetensors from PyPI, on first use.
venv="$here/.venv-ort"
if [ ! -x "$venv/bin/python" ]; then
  python=$(ls -d /root/.pyenv/versions/3.12*/bin/python 2>/dev/null | head -1 || true)
  "${python:-python3}" -m venv "$venv"
  "$venv/bin/pip" install -q onnx onnxruntime numpy safetensors
fi
