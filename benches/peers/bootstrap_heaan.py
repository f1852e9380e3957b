"""Times CKKS bootstrapping in HEaaN (CryptoLab's CPU wheel, `heaan` 0.1.0, Python 3.8) with preset FGb.

Measures, for N = 2^16 and 2^15 (full) and optionally 2^11 (sparse) slots:
key generation (secret key, encryption, multiplication, conjugation and rotation keys) and evaluator set-up,
wall time per bootstrap (median of RUNS), the error after one bootstrap for inputs uniform in [-1, 1]
(mean and max absolute error over the slots of the real part, and bits = -log2 of each), and the levels left,
read from the library and checked by squaring until the result goes wrong.

The wheel is not on PyPI; bootstrap_heaan.sh installs it from benches/peers/wheels/ (never commit it).
Threads: the wheel links no OpenMP or pthread_create, so HEaaN runs single-threaded whatever OMP_NUM_THREADS
says; the wrapper still records the value so the 2-thread row can be checked.

Sparse slots: the Python binding's make_bootstrappable() prepares full-slot bootstrapping only. The wheel exports
HEaaN::makeBootstrappable(const Context&, u64 log_slots); unless --no-sparse-via-ctypes is given, it is called
through ctypes on the Context object's shared_ptr (pybind11 keeps the C++ value pointer right after the
PyObject header), before the HomEvaluator is built (the evaluator builds the bootstrapping constants of every
prepared slot count). If that fails, the sparse row is reported as unavailable.
Times are wall clock (perf_counter) with the process CPU time next to them: the machine is shared, and for a
single-threaded run CPU time is the figure least disturbed by other load.

Prints a Markdown table and one JSON line. Usage: python bootstrap_heaan.py [--runs 3] [--log-slots 15,11]
"""
import argparse
import ctypes
import importlib.metadata
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import heaan


def now():
    return time.perf_counter()


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def make_sparse_bootstrappable(ctx, log_slots):
    """Calls HEaaN::makeBootstrappable(shared_ptr<ContextContent> const&, unsigned long) from the wheel."""
    lib = ctypes.CDLL(heaan.__file__)
    fn = lib["_ZN5HEaaN18makeBootstrappableERKSt10shared_ptrINS_14ContextContentEEm"]
    fn.restype = None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    ready = lib["_ZN5HEaaN16isBootstrapReadyERKSt10shared_ptrINS_14ContextContentEEm"]
    ready.restype = ctypes.c_bool
    ready.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    value = ctypes.c_void_p.from_address(id(ctx) + 16).value  # pybind11 instance: value pointer after PyObject_HEAD
    full = heaan.get_log_full_slots(ctx)
    if not ready(value, full):  # sanity check that the pointer is the context: full slots must already be ready
        raise RuntimeError("pointer check failed: full-slot bootstrap not reported ready through ctypes")
    fn(value, log_slots)
    if not ready(value, log_slots):
        raise RuntimeError("makeBootstrappable(ctx, %d) did not make it ready" % log_slots)


def chain_bits(ctx, sk):
    """log2 of every RNS prime of the secret key (Q_max and P), read as the max residue of each saved row."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "sk.bin")
        sk.save(path)
        raw = open(path, "rb").read()
    n = 1 << (heaan.get_log_full_slots(ctx) + 1)
    rows = (len(raw) // 8) // n
    data = np.frombuffer(raw[len(raw) - rows * n * 8:], dtype=np.uint64).reshape(rows, n)
    return [round(math.log2(int(r.max()) + 1)) for r in data]


def user_chain(ctx, pack, ev, enc, log_slots):
    m = heaan.Message(log_slots)
    m.set_data([0j] * (1 << log_slots))
    c = heaan.Ciphertext(ctx)
    enc.encrypt(m, pack, c)
    top = c.level
    primes = []
    while True:
        primes.append(round(math.log2(c.current_prime), 2))
        if c.level == 0:
            break
        ev.level_down_one(c, c)
    return top, primes


def secret_norm2(ctx, sk, pack):
    """||s||^2 of the secret key (its Hamming weight if ternary), which the binding does not expose.

    Saves a fresh ciphertext, overwrites its two polynomials with (c0, c1) = (0, 1) (all-ones in every RNS tower:
    the constant 1 in NTT form), loads and decrypts it, so the decoded slots are s evaluated at the slot roots,
    divided by the scale. Parseval over the N/2 slots and their conjugates gives ||s||^2 = (2/N) sum |slot * scale|^2.
    Calibrated with (c0, c1) = (1, 0), which must give 1. File layout (heaan 0.1.0): 106-byte header, then
    [polynomial header, towers x N words] twice.
    """
    log_full = heaan.get_log_full_slots(ctx)
    n = 1 << (log_full + 1)
    m = heaan.Message(log_full)
    m.set_data([0j] * (1 << log_full))
    c = heaan.Ciphertext(ctx)
    heaan.Encryptor(ctx).encrypt(m, pack, c)
    scale = 2.0 ** c.current_scale_factor
    towers = c.level + 1
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ct.bin")
        c.save(path)
        raw = bytearray(open(path, "rb").read())
        size = towers * n * 8
        poly_header = (len(raw) - 2 * size - 106) // 2
        offsets = (106 + poly_header, 106 + 2 * poly_header + size)

        def norm2(c0, c1):
            for off, val in zip(offsets, (c0, c1)):
                raw[off:off + size] = np.full(towers * n, val, dtype=np.uint64).tobytes()
            open(path, "wb").write(raw)
            crafted = heaan.Ciphertext(ctx)
            crafted.load(path)
            v = decrypt(heaan.Decryptor(ctx), sk, crafted, 1 << log_full) * scale
            return (2.0 / n) * float(np.sum(np.abs(v) ** 2))

        one = norm2(1, 0)
        if abs(one - 1.0) > 1e-6:
            raise RuntimeError("calibration failed: ||1||^2 came out as %r" % one)
        return norm2(0, 1)


def decrypt(dec, sk, ct, n):
    m = heaan.Message()
    dec.decrypt(ct, sk, m)
    return np.array([m[i] for i in range(n)])


def levels_by_squaring(ev, dec, sk, ct, x):
    """Squares until the decrypted result is wrong or the library refuses; returns the number of good squarings."""
    n = len(x)
    c = heaan.Ciphertext(ct)
    ref = x.copy()
    good = 0
    while True:
        try:
            if c.level == 0:
                break
            ev.square(c, c)
        except Exception:
            break
        ref = ref * ref
        y = decrypt(dec, sk, c, n).real
        if np.max(np.abs(y - ref)) > 1e-2:
            break
        good += 1
    return good


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--log-slots", default="15,11")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--no-sparse-via-ctypes", action="store_true")
    ap.add_argument("--secret-weight-only", type=int, metavar="KEYS", default=0,
                    help="only print ||s||^2 (Hamming weight of a ternary secret) of KEYS fresh FGb secret keys")
    args = ap.parse_args()
    if args.secret_weight_only:
        ctx = heaan.make_context(heaan.ParameterPreset.FGb)
        for _ in range(args.secret_weight_only):
            sk = heaan.SecretKey(ctx)
            kg = heaan.KeyGenerator(ctx, sk)
            kg.gen_enc_key()
            print(json.dumps({"library": "heaan", "preset": "FGb", "secret_norm2": round(secret_norm2(ctx, sk, kg.keypack), 6)}))
        return
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    load_before = uptime()

    ctx = heaan.make_context(heaan.ParameterPreset.FGb)
    log_full = heaan.get_log_full_slots(ctx)
    log_n = log_full + 1
    log_slots_list = [int(s) for s in args.log_slots.split(",")]
    heaan.make_bootstrappable(ctx)
    sparse_status = {}
    for log_slots in log_slots_list:  # bootstrapping constants are built with the evaluator, so prepare them first
        if log_slots == log_full:
            continue
        if args.no_sparse_via_ctypes:
            sparse_status[log_slots] = "sparse bootstrapping not exposed by the Python binding"
            continue
        try:
            make_sparse_bootstrappable(ctx, log_slots)
            sparse_status[log_slots] = None
        except Exception as e:  # noqa: BLE001 - report and continue
            sparse_status[log_slots] = "sparse set-up failed: %s" % e

    t0, c0 = now(), time.process_time()
    sk = heaan.SecretKey(ctx)
    kg = heaan.KeyGenerator(ctx, sk)
    kg.gen_common_keys()  # encryption, multiplication, conjugation and the rotation-key bundle bootstrapping uses
    pack = kg.keypack
    t_keygen, cpu_keygen = now() - t0, time.process_time() - c0
    t0, c0 = now(), time.process_time()
    ev = heaan.HomEvaluator(ctx, pack)  # builds the bootstrapping constants for every prepared slot count
    t_eval, cpu_eval = now() - t0, time.process_time() - c0
    enc, dec = heaan.Encryptor(ctx), heaan.Decryptor(ctx)

    bits = chain_bits(ctx, sk)
    top, primes = user_chain(ctx, pack, ev, enc, log_full)
    params = {
        "preset": "FGb", "log_n": log_n, "log_full_slots": log_full,
        "rns_primes_bits": bits, "log_qp": sum(bits), "num_rns_primes": len(bits),
        "user_levels_max": top, "user_chain_bits_top_to_bottom": primes[:1] + ["..."] + primes[-1:],
        "user_log_q": round(sum(primes), 1),
        "level_after_full_slot_bootstrap": heaan.get_level_after_full_slot_bootstrap(ctx),
        "min_level_for_bootstrap": ev.min_level_for_bootstrap,
        "secret_norm2": round(secret_norm2(ctx, sk, pack), 6),
    }

    rng = np.random.default_rng(args.seed)
    rows = []
    for log_slots in log_slots_list:
        n = 1 << log_slots
        row = {"library": "heaan", "version": importlib.metadata.version("heaan"), "log_n": log_n,
               "log_slots": log_slots, "threads": threads, "keygen_s": round(t_keygen, 2),
               "keygen_cpu_s": round(cpu_keygen, 2), "evaluator_setup_s": round(t_eval, 2),
               "evaluator_setup_cpu_s": round(cpu_eval, 2)}
        if sparse_status.get(log_slots):
            row["error"] = sparse_status[log_slots]
            rows.append(row)
            continue
        times, cpu, means, maxes = [], [], [], []
        out = x = None
        try:
            for _ in range(args.runs):
                x = rng.uniform(-1.0, 1.0, n)
                m = heaan.Message(log_slots)
                m.set_data(list(x.astype(complex)))
                c = heaan.Ciphertext(ctx)
                enc.encrypt(m, pack, c, ev.min_level_for_bootstrap, 0)
                out = heaan.Ciphertext(ctx)
                t0, c0 = now(), time.process_time()
                ev.bootstrap(c, out)
                times.append(now() - t0)
                cpu.append(time.process_time() - c0)
                err = np.abs(decrypt(dec, sk, out, n).real - x)
                means.append(float(err.mean()))
                maxes.append(float(err.max()))
        except Exception as e:  # noqa: BLE001
            row["error"] = "bootstrap failed: %s" % e
            rows.append(row)
            continue
        mean_err, max_err = statistics.mean(means), max(maxes)
        row.update({
            "input_level": ev.min_level_for_bootstrap, "boot_s_median": round(statistics.median(times), 2),
            "boot_s_all": [round(t, 2) for t in times], "boot_cpu_s_median": round(statistics.median(cpu), 2), "mean_abs_err": mean_err, "max_abs_err": max_err,
            "mean_bits": round(-math.log2(mean_err), 2), "max_bits": round(-math.log2(max_err), 2),
            "levels_left": out.level, "levels_left_by_squaring": levels_by_squaring(ev, dec, sk, out, x),
        })
        rows.append(row)

    load_after = uptime()
    print(f"# HEaaN bootstrapping (preset FGb, heaan {importlib.metadata.version('heaan')}, Python {platform.python_version()}, "
          f"OMP_NUM_THREADS={threads})\n")
    print(f"- N = 2^{log_n}; log QP = {params['log_qp']} ({params['num_rns_primes']} RNS primes: {bits}); "
          f"user chain {params['user_levels_max']} levels, log Q_user = {params['user_log_q']}; "
          f"bootstrap input level {params['min_level_for_bootstrap']}; secret ||s||^2 = {params['secret_norm2']:g} "
          f"(Hamming weight if ternary)")
    print(f"- key generation {t_keygen:.1f} s wall / {cpu_keygen:.1f} s CPU (gen_common_keys); evaluator set-up "
          f"(bootstrapping constants for slots {log_slots_list}) {t_eval:.1f} s wall / {cpu_eval:.1f} s CPU")
    print(f"- load before: {load_before}\n- load after:  {load_after}\n")
    print("| slots | threads | boot s (median) | all runs s | CPU s (median) | mean err | bits (mean) | max err | bits (max) | levels left |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        if "error" in r:
            print(f"| 2^{r['log_slots']} | {threads} | – | – | – | – | – | – | – | {r['error']} |")
        else:
            print(f"| 2^{r['log_slots']} | {threads} | {r['boot_s_median']:.2f} | {r['boot_s_all']} | {r['boot_cpu_s_median']:.2f} | {r['mean_abs_err']:.2e} | "
                  f"{r['mean_bits']:.2f} | {r['max_abs_err']:.2e} | {r['max_bits']:.2f} | {r['levels_left']} "
                  f"(squarings ok: {r['levels_left_by_squaring']}) |")
    print()
    print(json.dumps({"library": "heaan", "params": params, "rows": rows, "load_before": load_before,
                      "load_after": load_after, "python": sys.version.split()[0]}), flush=True)


if __name__ == "__main__":
    main()
