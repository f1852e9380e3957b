"""MedBlind's `vit_features` example and onnxruntime timed on the same images, in groups of 8, on 1 and 2 threads;
shared by deit_onnxruntime.py and dinov2_onnxruntime.py."""
import json
import subprocess
import time

import numpy as np
import onnxruntime as ort


def compare(example_command, model, run, count, repeats):
    """Images per second of MedBlind (`example_command(threads)`: the example's command line, which prints
    `images_per_second=…`) and of onnxruntime (`run(session, i)`: the outputs of images `i…i+8` through `model`, a
    path or a serialized graph, `repeats` passes over `count` images), as `medblind_{threads}t` and
    `onnxruntime_{threads}t`; and onnxruntime's outputs of all images (on 2 threads)."""
    results = {}
    for threads in (1, 2):
        out = subprocess.run(example_command(threads), check=True, capture_output=True, text=True).stdout
        results[f"medblind_{threads}t"] = float(out.split("images_per_second=")[1])
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        outputs = np.concatenate([run(session, i) for i in range(0, count, 8)])
        start = time.perf_counter()
        for _ in range(repeats):
            for i in range(0, count, 8):
                run(session, i)
        results[f"onnxruntime_{threads}t"] = repeats * count / (time.perf_counter() - start)
    return results, outputs


def print_results(name, results, digits):
    """`results` as JSON, then a line per thread count: both speeds (`digits` decimals) and their ratio."""
    print(json.dumps(results, indent=1))
    for t in (1, 2):
        print(f"{name}, {t} thread(s): MedBlind {results[f'medblind_{t}t']:.{digits}f} img/s, onnxruntime "
              f"{results[f'onnxruntime_{t}t']:.{digits}f} img/s, ratio (MedBlind time / onnxruntime time) "
              f"{results[f'onnxruntime_{t}t'] / results[f'medblind_{t}t']:.2f}")
