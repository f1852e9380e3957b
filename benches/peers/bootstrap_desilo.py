"""Times CKKS bootstrapping in DESILO FHE (PyPI `desilofhe`, CPU, Python 3.11) with its bootstrapping engine.

Measures, on full slots: key generation (secret, relinearization, conjugation and bootstrap keys, the last of
size `--key-size`), wall and process CPU time per bootstrap (median of RUNS), the error after one bootstrap of
real inputs uniform in [-1, 1] (mean and max absolute error over the slots, and bits = -log2 of each), the input
level, and the levels left (the library's level of the result).
The engine's thread count is the library's `thread_count`. The library documents neither its moduli nor its
secret's distribution in the Python API; what the script can read (slots, levels, key sizes, the limbs of
ciphertexts and of the secret key) it prints.

Prints a Markdown table and one JSON line. Usage: python bootstrap_desilo.py [--runs 3] [--threads 1]
"""
import argparse
import importlib.metadata
import json
import math
import platform
import resource
import statistics
import subprocess
import time

import numpy as np
import desilofhe


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def bits(err):
    return round(-math.log2(err), 2) if err > 0 else float("inf")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--key-size", default="medium")
    ap.add_argument("--input-level", type=int, default=0)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    load_before = uptime()
    engine = desilofhe.Engine(mode="cpu", bootstrap=True, thread_count=args.threads)
    slots = engine.slot_count

    t0, c0 = time.perf_counter(), time.process_time()
    sk = engine.create_secret_key()
    rlk = engine.create_relinearization_key(sk)
    cjk = engine.create_conjugation_key(sk)
    btk = engine.create_bootstrap_key(sk, size=args.key_size)
    keygen_s, keygen_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    key_gib = sum(getattr(k, "nbytes", 0) for k in (rlk, cjk, btk)) / 2**30
    peak_keygen_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

    rng = np.random.default_rng(args.seed)
    times, cpu, means, maxes = [], [], [], []
    out = None
    for _ in range(args.runs):
        x = rng.uniform(-1.0, 1.0, slots)
        ct = engine.encrypt(x, sk, args.input_level)
        t0, c0 = time.perf_counter(), time.process_time()
        out = engine.bootstrap(ct, rlk, cjk, btk)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        err = np.abs(engine.decrypt(out, sk).real - x)
        means.append(float(err.mean()))
        maxes.append(float(err.max()))
    row = {
        "library": "desilofhe", "version": importlib.metadata.version("desilofhe"), "slots": slots,
        "log_n": int(math.log2(2 * slots)), "max_level": engine.max_level, "threads": args.threads,
        "key_size": args.key_size, "keygen_s": round(keygen_s, 2), "keygen_cpu_s": round(keygen_cpu_s, 2),
        "key_gib": round(key_gib, 2), "peak_after_keygen_gib": round(peak_keygen_gib, 2),
        "input_level": args.input_level, "boot_s_median": round(statistics.median(times), 2),
        "boot_s_all": [round(t, 2) for t in times], "boot_cpu_s_median": round(statistics.median(cpu), 2),
        "mean_abs_err": statistics.mean(means), "max_abs_err": max(maxes),
        "mean_bits": bits(statistics.mean(means)), "max_bits": bits(max(maxes)),
        "levels_left": out.level,
        # Sizes in words of N coefficients, where the API shows no moduli: limbs at the bottom and top levels, and
        # the secret key's (over the key-switching modulus QP).
        "ct_limbs_level_0": engine.encrypt(np.zeros(slots), sk, 0).nbytes / (2 * 16 * slots),
        "ct_limbs_top": engine.encrypt(np.zeros(slots), sk, engine.max_level).nbytes / (2 * 16 * slots),
        "secret_key_limbs": sk.nbytes / (16 * slots),
        "peak_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "load_before": load_before, "load_after": uptime(), "python": platform.python_version(),
    }
    print("# DESILO FHE bootstrapping (desilofhe %s, Python %s, %d thread(s))\n" % (
        row["version"], row["python"], args.threads))
    print("- slots %d (N = 2^%d), max level %d; keys (relinearization, conjugation, bootstrap of size %s) %.2f GiB, "
          "made in %.1f s wall / %.1f s CPU; peak memory %.2f GiB" % (
              slots, row["log_n"], engine.max_level, args.key_size, key_gib, keygen_s, keygen_cpu_s,
              row["peak_gib"]))
    print("- load before: %s\n- load after:  %s\n" % (row["load_before"], row["load_after"]))
    print("| slots | threads | boot s (median) | all runs s | CPU s (median) | bits (mean) | bits (max) | levels left |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print("| %d | %d | %.2f | %s | %.2f | %.2f | %.2f | %d |\n" % (
        slots, args.threads, row["boot_s_median"], row["boot_s_all"], row["boot_cpu_s_median"], row["mean_bits"],
        row["max_bits"], row["levels_left"]))
    print(json.dumps(row))


if __name__ == "__main__":
    main()
