"""Times CKKS bootstrapping in OpenFHE (PyPI wheel `openfhe`, Python 3.10) at 128-bit security, N = 2^16.

For each slot count (default 2^15 = full and 2^11 = sparse) it measures: key generation (secret/public key,
relinearisation key and the bootstrapping rotation/conjugation keys for that slot count) and the bootstrapping
set-up (EvalBootstrapSetup precomputation), wall time per bootstrap (median of RUNS), the error after one
bootstrap for inputs uniform in [-1, 1] (mean and max absolute error over the slots, bits = -log2 of each), and
the levels left, read from the ciphertext and checked by squaring until the result goes wrong or OpenFHE refuses.

Parameters (all printed): HEStd_128_classic with the ring dimension fixed to 2^16 (OpenFHE refuses a context
whose log QP exceeds the HE-standard bound for that ring, so a context that builds is within the bound),
HYBRID key switching, FLEXIBLEAUTO scaling, 59-bit scaling primes and a 60-bit first prime (OpenFHE's
recommendation for 64-bit builds; smaller scaling primes lose precision 1:1, e.g. 50-bit primes gave about
11 bits), level budget {3, 3} for CoeffsToSlots/SlotsToCoeffs. The multiplicative depth is
GetBootstrapDepth({3,3}, dist) + L, with L the largest number of levels left after bootstrapping (<= 12)
for which OpenFHE accepts the context at 128-bit security, unless --levels-after is given.
Threads: set OMP_NUM_THREADS (the wrapper does).

Usage: python bootstrap_openfhe.py [--dist uniform|sparse] [--log-slots 15,11] [--runs 3] [--dnum 6]
"""
import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time

import numpy as np
import openfhe as fhe

DISTS = {"uniform": fhe.SecretKeyDist.UNIFORM_TERNARY, "sparse": fhe.SecretKeyDist.SPARSE_TERNARY}
HAMMING = {"uniform": "dense (each coefficient uniform in {-1, 0, 1}, about 2N/3 nonzero)",
           "sparse": "192 (OpenFHE's fixed weight for SPARSE_TERNARY)"}


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def make_context(dist, log_n, scale_bits, first_bits, level_budget, levels_after, dnum):
    p = fhe.CCParamsCKKSRNS()
    p.SetSecretKeyDist(dist)
    p.SetSecurityLevel(fhe.SecurityLevel.HEStd_128_classic)
    p.SetRingDim(1 << log_n)
    p.SetScalingModSize(scale_bits)
    p.SetFirstModSize(first_bits)
    p.SetScalingTechnique(fhe.ScalingTechnique.FLEXIBLEAUTO)
    p.SetKeySwitchTechnique(fhe.KeySwitchTechnique.HYBRID)
    p.SetNumLargeDigits(dnum)
    boot_depth = fhe.CryptoContext.GetBootstrapDepth(level_budget, dist)
    depth = boot_depth + levels_after
    p.SetMultiplicativeDepth(depth)
    cc = fhe.GenCryptoContext(p)
    for feature in (fhe.PKE, fhe.KEYSWITCH, fhe.LEVELEDSHE, fhe.ADVANCEDSHE, fhe.FHE):
        cc.Enable(feature)
    return cc, depth, boot_depth


def log_q(cc):
    """Bit length of Q, read from the serialised context (GetModulus() overflows a double here)."""
    m = re.search(r'"cm": \{\s*"cereal_class_version": 0,\s*"v": \[[^\]]*\],\s*"m": (\d+)', fhe.Serialize(cc, fhe.JSON))
    return int(m.group(1)) if m else None


def special_primes(cc, depth, dnum):
    """Number K of special primes P, from the size of the serialised relinearisation key:
    dnum digits x 2 polynomials x (depth + 1 + K) towers x N words of 8 bytes (plus a small header).
    OpenFHE draws P's primes of 60 bits (its auxiliary modulus size), so log P ~ 60 K."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "mult.bin")
        fhe.CryptoContext.SerializeEvalMultKey(path, fhe.BINARY)
        size = os.path.getsize(path)
    words = size / (dnum * 2 * cc.GetRingDimension() * 8)
    k = int(words) - (depth + 1)
    return {"num_special_primes": k, "log_p_approx": 60 * k, "relin_key_bytes": size}


def decrypt(cc, sk, ct, n):
    pt = cc.Decrypt(ct, sk)
    pt.SetLength(n)
    return np.array(pt.GetRealPackedValue())


def levels_by_squaring(cc, sk, ct, x):
    c, ref, good = ct, x.copy(), 0
    while good < 40:
        try:
            c = cc.EvalMult(c, c)
            y = decrypt(cc, sk, c, len(x))
        except Exception:  # noqa: BLE001 - out of levels
            break
        ref = ref * ref
        if np.max(np.abs(y - ref)) > 1e-2:
            break
        good += 1
    return good


def fit_table(log_n):
    print(f"| secret | scaling/first prime bits | level budget | dnum | bootstrapping depth | most levels left (<= 12) | log Q |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, dist in DISTS.items():
        for scale, first in ((59, 60), (55, 60), (52, 60)):
            for budget in ([3, 3], [4, 4]):
                for dnum in (3, 4, 6, 8):
                    found = None
                    for after in range(12, 0, -1):
                        try:
                            cc, _, boot_depth = make_context(dist, log_n, scale, first, budget, after, dnum)
                            found = (after, boot_depth, log_q(cc))
                            break
                        except Exception:  # noqa: BLE001 - does not fit
                            continue
                    cells = found if found else ("none", "–", "–")
                    print(f"| {name} | {scale}/{first} | {budget} | {dnum} | {cells[1]} | {cells[0]} | {cells[2]} |", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dist", choices=sorted(DISTS), default="uniform")
    ap.add_argument("--log-n", type=int, default=16)
    ap.add_argument("--log-slots", default="15,11")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scale-bits", type=int, default=59)
    ap.add_argument("--first-bits", type=int, default=60)
    ap.add_argument("--level-budget", default="3,3")
    ap.add_argument("--dnum", type=int, default=6)
    ap.add_argument("--levels-after", type=int, default=None)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--fit-table", action="store_true",
                    help="only list, per secret/scaling size/level budget/dnum, the most levels left after bootstrapping "
                         "that OpenFHE accepts at 128-bit security (contexts only, no keys, no timing)")
    args = ap.parse_args()
    if args.fit_table:
        fit_table(args.log_n)
        return
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    dist = DISTS[args.dist]
    level_budget = [int(v) for v in args.level_budget.split(",")]
    load_before = uptime()

    candidates = [args.levels_after] if args.levels_after is not None else list(range(12, 0, -1))
    cc = None
    for levels_after in candidates:
        try:
            cc, depth, boot_depth = make_context(dist, args.log_n, args.scale_bits, args.first_bits, level_budget,
                                                 levels_after, args.dnum)
            break
        except Exception as e:  # noqa: BLE001 - too large for 128-bit security, try fewer levels
            last_error = str(e)
    if cc is None:
        sys.exit("no context fits 128-bit security: " + last_error)
    params = {
        "log_n": args.log_n, "ring_dim": cc.GetRingDimension(), "security": "HEStd_128_classic",
        "secret_dist": args.dist, "hamming_weight": HAMMING[args.dist], "scaling": "FLEXIBLEAUTO",
        "scale_bits": args.scale_bits, "first_mod_bits": args.first_bits, "key_switching": "HYBRID",
        "dnum": args.dnum, "level_budget": level_budget, "bootstrap_depth": boot_depth,
        "levels_after_requested": levels_after, "mult_depth": depth, "log_q": log_q(cc),
    }

    t0, c0 = time.perf_counter(), time.process_time()
    keys = cc.KeyGen()
    cc.EvalMultKeyGen(keys.secretKey)
    t_base, cpu_base = time.perf_counter() - t0, time.process_time() - c0
    params.update(special_primes(cc, depth, args.dnum))

    rng = np.random.default_rng(args.seed)
    rows = []
    for index, log_slots in enumerate(int(v) for v in args.log_slots.split(",")):
        n = 1 << log_slots
        t0, c0 = time.perf_counter(), time.process_time()
        cc.EvalBootstrapSetup(level_budget, [0, 0], n)
        t_setup, cpu_setup = time.perf_counter() - t0, time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        cc.EvalBootstrapKeyGen(keys.secretKey, n)
        t_bkeys, cpu_bkeys = time.perf_counter() - t0, time.process_time() - c0
        times, cpu, means, maxes = [], [], [], []
        out = x = None
        for _ in range(args.runs):
            x = rng.uniform(-1.0, 1.0, n)
            pt = cc.MakeCKKSPackedPlaintext(x, 1, depth - 1, None, n)  # input at the last level
            ct = cc.Encrypt(keys.publicKey, pt)
            t0, c0 = time.perf_counter(), time.process_time()
            out = cc.EvalBootstrap(ct)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            err = np.abs(decrypt(cc, keys.secretKey, out, n) - x)
            means.append(float(err.mean()))
            maxes.append(float(err.max()))
        mean_err, max_err = statistics.mean(means), max(maxes)
        rows.append({
            "library": "openfhe", "version": fhe.__version__, "log_n": args.log_n, "log_slots": log_slots,
            "threads": threads, "dist": args.dist,
            "keys_note": "" if index == 0 else "rotation keys already made for an earlier slot count were reused",
            "keygen_s": round(t_base + t_bkeys, 2), "keygen_cpu_s": round(cpu_base + cpu_bkeys, 2),
            "keygen_base_s": round(t_base, 2), "bootstrap_keys_s": round(t_bkeys, 2),
            "bootstrap_setup_s": round(t_setup, 2), "bootstrap_setup_cpu_s": round(cpu_setup, 2),
            "boot_s_median": round(statistics.median(times), 2), "boot_s_all": [round(t, 2) for t in times],
            "boot_cpu_s_median": round(statistics.median(cpu), 2),
            "mean_abs_err": mean_err, "max_abs_err": max_err,
            "mean_bits": round(-math.log2(mean_err), 2), "max_bits": round(-math.log2(max_err), 2),
            "out_level": out.GetLevel(), "out_noise_scale_deg": out.GetNoiseScaleDeg(),
            "levels_left_by_squaring": levels_by_squaring(cc, keys.secretKey, out, x),
        })
        cc.ClearBootstrapPrecom()

    load_after = uptime()
    print(f"# OpenFHE bootstrapping (openfhe {fhe.__version__}, Python {platform.python_version()}, OMP_NUM_THREADS={threads})\n")
    print(f"- N = 2^{args.log_n}, {params['security']}, secret {args.dist} ternary (Hamming weight {params['hamming_weight']}), "
          f"FLEXIBLEAUTO, scaling primes {args.scale_bits} bits, first prime {args.first_bits} bits, HYBRID dnum {args.dnum}, "
          f"level budget {level_budget}")
    print(f"- depth {depth} = bootstrapping {boot_depth} + {levels_after} requested after; log Q = {params['log_q']} "
          f"(P chosen by OpenFHE; the context passed its 128-bit check for N = 2^{args.log_n})")
    print(f"- P: {params['num_special_primes']} special primes (~60 bits each), log QP ~ {params['log_q'] + params['log_p_approx']} "
          f"(relinearisation key {params['relin_key_bytes'] / 2**20:.0f} MiB)")
    print(f"- KeyGen + EvalMultKeyGen {t_base:.1f} s")
    print(f"- load before: {load_before}\n- load after:  {load_after}\n")
    print("| slots | threads | keygen s (incl. boot keys) | boot setup s | boot s (median) | all runs s | CPU s (median) | "
          "mean err | bits (mean) | max err | bits (max) | levels left (squarings ok) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        note = "*" if r["keys_note"] else ""
        print(f"| 2^{r['log_slots']} | {threads} | {r['keygen_s']:.1f}{note} | {r['bootstrap_setup_s']:.1f} | {r['boot_s_median']:.2f} | "
              f"{r['boot_s_all']} | {r['boot_cpu_s_median']:.2f} | {r['mean_abs_err']:.2e} | {r['mean_bits']:.2f} | "
              f"{r['max_abs_err']:.2e} | {r['max_bits']:.2f} | {r['levels_left_by_squaring']} (out level {r['out_level']}) |")
    if any(r["keys_note"] for r in rows):
        print("\n\\* generated after an earlier slot count in the same process: rotation keys it already had were reused")
    print()
    print(json.dumps({"library": "openfhe", "params": params, "rows": rows, "load_before": load_before,
                      "load_after": load_after, "python": sys.version.split()[0]}), flush=True)


if __name__ == "__main__":
    main()
