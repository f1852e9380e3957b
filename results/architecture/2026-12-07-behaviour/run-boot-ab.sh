#!/usr/bin/env bash
# Bootstrapped compare, alternating the old (b5c6d8b) and final (376057a) binaries, two rounds.
set -u
for round in 2 3; do
  for bin in old final; do
    exe=/work/runs/medblind-avx2; [ $bin = final ] && exe=./medblind-final
    $exe compare --data /work/shared/datasets/breast_cancer.csv --out ab-boot-$bin-$round --preset test-insecure-n4096-boot \
      --batch 256 --epochs 8 --learning-rate 2 --decay 0.9 --weight-decay 0 --patience 0 --force > ab-boot-$bin-$round.log 2>&1
  done
done
