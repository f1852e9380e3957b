#!/usr/bin/env bash
# Side-by-side: MedBlind vs OpenFHE (PyPI wheel `openfhe`, Python 3.10) on the same machine, same ring degree,
# same modulus sizes (60-bit base, 40-bit scaling primes, 60/61-bit special primes), same dnum, single-threaded.
# Usage: benches/peers/run.sh [LOG_N ...]   (default: 14 16). Writes results/ckks-ops/<date>.md (with the time
# appended when that day's file exists: a written-up campaign is never overwritten), naming the CPU and MedBlind's
# kernel set (the best this CPU runs, or $MEDBLIND_KERNELS: scalar, avx2, avx512-ifma).
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
python=${PEER_PYTHON:-/root/.pyenv/versions/3.10.13/bin/python}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
  .venv/bin/pip install -q openfhe
fi
(cd "$root" && cargo build --release -q -p medblind-benches --example ops)
degrees=("${@:-14 16}")
mkdir -p "$root/results/ckks-ops"
out="$root/results/ckks-ops/$(date +%F).md"
[ -e "$out" ] && out="$root/results/ckks-ops/$(date +%F)-$(date +%H%M%S).md"
tmp=$(mktemp)
for log_n in ${degrees[@]}; do
  "$root/target/release/examples/ops" "$log_n" >>"$tmp"
  OMP_NUM_THREADS=1 .venv/bin/python openfhe_ops.py "$log_n" >>"$tmp"
done
.venv/bin/python - "$tmp" "$out" <<'PY'
import json, sys, platform, datetime
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
kernels = ", ".join(sorted({r["kernels"] for r in rows if r["library"] == "medblind"}))
ours = {(r["op"], r["log_n"]): r for r in rows if r["library"] == "medblind"}
peer = {(r["op"], r["log_n"]): r for r in rows if r["library"] == "openfhe"}
lines = [f"# MedBlind vs OpenFHE ({datetime.date.today()}, {cpu}, single thread)", "",
         f"MedBlind's kernels: {kernels}.", "",
         "| operation | N | limbs | MedBlind ms | OpenFHE ms | MedBlind / OpenFHE |", "| --- | --- | --- | --- | --- | --- |"]
for (op, log_n), r in sorted(ours.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    p = peer.get((op, log_n))
    ratio = f"{r['ms'] / p['ms']:.2f}" if p else "– (not exposed by openfhe-python)"
    lines.append(f"| {op} | 2^{log_n} | {r['limbs']} | {r['ms']:.3f} | {p['ms']:.3f} | {ratio} |" if p else
                 f"| {op} | 2^{log_n} | {r['limbs']} | {r['ms']:.3f} | – | {ratio} |")
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
rm -f "$tmp"
