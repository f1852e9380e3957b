"""DeiT feature extraction: MedBlind (Rust) side by side with onnxruntime on the same weights and images.

The DeiT graph is built here from the timm safetensors checkpoint with the `onnx` package (opset 17: Conv patch
embedding, LayerNormalization, MatMul, Softmax, erf GELU), run with onnxruntime, and compared with the features
of MedBlind's `vit_features` example on the same preprocessed images: agreement (largest error relative to each
image's largest feature) and images per second on 1 and 2 threads.

Usage: benches/peers/deit_onnxruntime.sh [deit_tiny|deit_small] [IMAGES]
"""
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

from ort_compare import compare, print_results


def build_graph(weights, heads):
    """timm's VisionTransformer forward (class token after the final norm) as an ONNX graph."""
    dim = weights["cls_token"].shape[-1]
    depth = sum(1 for k in weights if k.endswith(".attn.qkv.weight"))
    head_dim = dim // heads
    inits, nodes = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(op, inputs, **attrs):
        out = f"t{len(nodes)}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def linear(x, prefix):
        w = const(prefix + ".wT", weights[prefix + ".weight"].T.copy())
        return node("Add", [node("MatMul", [x, w]), const(prefix + ".b", weights[prefix + ".bias"])])

    def norm(x, prefix):
        return node("LayerNormalization", [x, const(prefix + ".g", weights[prefix + ".weight"]),
                                           const(prefix + ".beta", weights[prefix + ".bias"])], axis=-1, epsilon=1e-6)

    x = node("Conv", ["pixels", const("patch.w", weights["patch_embed.proj.weight"]),
                      const("patch.b", weights["patch_embed.proj.bias"])], kernel_shape=[16, 16], strides=[16, 16])
    x = node("Transpose", [node("Reshape", [x, const("shape.flat", np.array([0, dim, -1], np.int64))])], perm=[0, 2, 1])
    batch = node("Slice", [node("Shape", [x]), const("zero", np.array([0], np.int64)), const("one", np.array([1], np.int64))])
    cls_shape = node("Concat", [batch, const("one_dim", np.array([1, dim], np.int64))], axis=0)
    cls = node("Expand", [const("cls", weights["cls_token"]), cls_shape])
    x = node("Add", [node("Concat", [cls, x], axis=1), const("pos", weights["pos_embed"])])
    for i in range(depth):
        p = f"blocks.{i}"
        qkv = linear(norm(x, p + ".norm1"), p + ".attn.qkv")
        qkv = node("Transpose", [node("Reshape", [qkv, const(p + ".qkvshape", np.array([0, 0, 3, heads, head_dim], np.int64))])],
                   perm=[2, 0, 3, 1, 4])
        q, k, v = (node("Gather", [qkv, const(f"{p}.i{j}", np.array(j, np.int64))], axis=0) for j in range(3))
        scores = node("Mul", [node("MatMul", [q, node("Transpose", [k], perm=[0, 1, 3, 2])]),
                              const(p + ".scale", np.array(head_dim ** -0.5, np.float32))])
        attended = node("MatMul", [node("Softmax", [scores], axis=-1), v])
        attended = node("Reshape", [node("Transpose", [attended], perm=[0, 2, 1, 3]),
                                    const(p + ".outshape", np.array([0, 0, dim], np.int64))])
        x = node("Add", [x, linear(attended, p + ".attn.proj")])
        h = linear(norm(x, p + ".norm2"), p + ".mlp.fc1")
        erf = node("Erf", [node("Div", [h, const(p + ".sqrt2", np.array(np.sqrt(2.0), np.float32))])])
        h = node("Mul", [node("Mul", [h, node("Add", [erf, const(p + ".one", np.array(1.0, np.float32))])]),
                         const(p + ".half", np.array(0.5, np.float32))])
        x = node("Add", [x, linear(h, p + ".mlp.fc2")])
    features = node("Gather", [norm(x, "norm"), const("cls_index", np.array(0, np.int64))], axis=1)
    nodes[-1].output[0] = "features"
    graph = helper.make_graph(
        nodes, "deit", [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["n", 3, 224, 224])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["n", dim])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def main():
    root = Path(__file__).resolve().parents[2]
    name = sys.argv[1] if len(sys.argv) > 1 else "deit_tiny"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    heads = {"deit_tiny": 3, "deit_small": 6, "deit_base": 12}[name]
    medblind = root / "target/release/medblind"
    example = root / "target/release/examples/vit_features"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        weights_file = tmp / "weights.safetensors"
        subprocess.run([medblind, "weights", "init", "--model", name, "--seed", "7", "--out", weights_file], check=True,
                       stdout=subprocess.DEVNULL)
        weights = load_file(weights_file)
        # timm's initialization leaves the blocks close to identity; widen the weights so every block matters.
        rng = np.random.default_rng(1)
        for key, value in weights.items():
            if key.endswith(".weight") and value.ndim == 2:
                weights[key] = (rng.standard_normal(value.shape) / np.sqrt(value.shape[1])).astype(np.float32)
        from safetensors.numpy import save_file
        save_file(weights, weights_file, metadata={"format": "pt"})
        images = rng.uniform(-2, 2, (count, 3, 224, 224)).astype(np.float32)
        np.save(tmp / "images.npy", images)
        model = build_graph(weights, heads)
        results = {"model": name, "images": count, "onnxruntime": ort.__version__}
        timings, reference = compare(
            lambda threads: [example, weights_file, name, tmp / "images.npy", tmp / "rust.npy", str(threads), "2"],
            model.SerializeToString(), lambda session, i: session.run(None, {"pixels": images[i:i + 8]})[0], count, 2)
        results.update(timings)
        rust = np.load(tmp / "rust.npy")
        results["max_relative_error"] = float(np.max(np.abs(rust - reference).max(axis=1) / np.abs(reference).max(axis=1)))
    print_results(name, results, 1)
    print(f"features agree within {results['max_relative_error']:.1e} (largest error / largest feature, per image)")


if __name__ == "__main__":
    main()
