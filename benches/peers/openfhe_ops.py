"""Times OpenFHE's CKKS operations with the same parameters and method as MedBlind's `examples/ops.rs`.

Median wall time of repeated single-threaded runs (OMP_NUM_THREADS=1), keys generated once outside the timing.
Prints one JSON object per line. Usage: python openfhe_ops.py LOG_N
"""
import json
import statistics
import sys
import time

import openfhe as fhe

# MedBlind presets n*-s40: a 60-bit base prime, 40-bit scaling primes, dnum digits, 61-bit special primes.
PRESETS = {13: (2, 3), 14: (6, 4), 15: (14, 3), 16: (30, 4)}  # log_n -> (depth, dnum)


def median_ms(runs, fn, setup=lambda: None):
    times = []
    for _ in range(runs):
        x = setup()
        start = time.perf_counter()
        fn(x)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main():
    log_n = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    depth, dnum = PRESETS[log_n]
    n = 1 << log_n
    p = fhe.CCParamsCKKSRNS()
    p.SetRingDim(n)
    p.SetBatchSize(n // 2)
    p.SetMultiplicativeDepth(depth)
    p.SetScalingModSize(40)
    p.SetFirstModSize(60)
    p.SetNumLargeDigits(dnum)
    p.SetKeySwitchTechnique(fhe.KeySwitchTechnique.HYBRID)
    p.SetScalingTechnique(fhe.ScalingTechnique.FIXEDMANUAL)
    p.SetSecurityLevel(fhe.SecurityLevel.HEStd_NotSet)  # ring dimension fixed; see README for the bound
    cc = fhe.GenCryptoContext(p)
    cc.Enable(fhe.PKESchemeFeature.PKE)
    cc.Enable(fhe.PKESchemeFeature.KEYSWITCH)
    cc.Enable(fhe.PKESchemeFeature.LEVELEDSHE)
    keys = cc.KeyGen()
    cc.EvalMultKeyGen(keys.secretKey)
    steps = [1 << i for i in range(8)]
    cc.EvalRotateKeyGen(keys.secretKey, steps)
    values = [((i * 7919) % 1000) / 1000.0 for i in range(n // 2)]
    pt = cc.MakeCKKSPackedPlaintext(values)
    ct = cc.Encrypt(keys.publicKey, pt)
    limbs = depth + 1
    runs = 7 if log_n >= 16 else 15

    def report(op, ms):
        print(json.dumps({"library": "openfhe", "op": op, "log_n": log_n, "limbs": limbs, "ms": round(ms, 4)}), flush=True)

    report("encrypt_pk", median_ms(runs, lambda _: cc.Encrypt(keys.publicKey, pt)))
    report("mul_relin", median_ms(runs, lambda _: cc.EvalMult(ct, ct)))
    report("rescale", median_ms(runs, lambda c: cc.RescaleInPlace(c), setup=lambda: cc.EvalMult(ct, 3.0)))
    report("rotate", median_ms(runs, lambda _: cc.EvalRotate(ct, 1)))

    def hoisted(_):
        digits = cc.EvalFastRotationPrecompute(ct)
        for s in steps:
            cc.EvalFastRotation(ct, s, 2 * n, digits)

    report("rotate_hoisted_x8", median_ms(runs, hoisted))


if __name__ == "__main__":
    main()
