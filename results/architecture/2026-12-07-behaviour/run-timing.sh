#!/usr/bin/env bash
# Back to back on a quiet machine: the old binary (b5c6d8b) then the final one (376057a), same two runs, for time.
set -u
for bin in old final; do
  exe=/work/runs/medblind-avx2; [ $bin = final ] && exe=./medblind-final
  for run in refresh boot; do
    preset=test-insecure-n2048-depth30 batch=128 epochs=30
    [ $run = boot ] && preset=test-insecure-n4096-boot batch=256 epochs=8
    $exe compare --data /work/shared/datasets/breast_cancer.csv --out timing-$run-$bin --preset $preset \
      --batch $batch --epochs $epochs --learning-rate 2 --decay 0.9 --weight-decay 0 --patience 0 --force \
      > timing-$run-$bin.log 2>&1
  done
done
