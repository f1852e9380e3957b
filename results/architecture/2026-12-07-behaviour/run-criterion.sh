#!/bin/bash
export CRITERION_HOME=/work/runs/criterion MEDBLIND_BENCH_LOG_N=16
cd /work/wt-old && CARGO_TARGET_DIR=/work/rel-target cargo bench -p medblind-benches --bench ckks --no-run > /work/runs/m28/crit-build-old.log 2>&1
cd /work/main && cargo bench -p medblind-benches --bench ckks --no-run > /work/runs/m28/crit-build-new.log 2>&1
echo "builds done $(date -u)" > /work/runs/m28/crit-times.txt
cd /work/wt-old && CARGO_TARGET_DIR=/work/rel-target cargo bench -p medblind-benches --bench ckks -- --save-baseline before > /work/runs/m28/crit-old.out 2>&1
echo "old done $(date -u)" >> /work/runs/m28/crit-times.txt
cd /work/main && cargo bench -p medblind-benches --bench ckks -- --baseline before > /work/runs/m28/crit-new.out 2>&1
echo "new done $(date -u)" >> /work/runs/m28/crit-times.txt
cd /work/wt-old && CARGO_TARGET_DIR=/work/rel-target cargo bench -p medblind-benches --bench ckks -- --baseline before > /work/runs/m28/crit-old2.out 2>&1
echo "old2 done $(date -u)" >> /work/runs/m28/crit-times.txt
