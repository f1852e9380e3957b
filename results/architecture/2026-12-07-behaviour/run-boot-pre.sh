#!/usr/bin/env bash
# Bootstrapped compare, alternating the binary just before the redesign (0d864b2) and the final one (376057a).
set -u
for round in 1 2; do
  for bin in pre final; do
    $PWD/medblind-$bin compare --data /work/shared/datasets/breast_cancer.csv --out pb-boot-$bin-$round \
      --preset test-insecure-n4096-boot --batch 256 --epochs 8 --learning-rate 2 --decay 0.9 --weight-decay 0 \
      --patience 0 --force > pb-boot-$bin-$round.log 2>&1
  done
done
