#!/usr/bin/env bash
# Before/after the architecture change: breast cancer, compare on the insecure test presets (key-owner refreshes
# and bootstrapping), the old binary (b5c6d8b, before the redesign) and the new one (8253244).
set -u
for bin in old new; do
  exe=/work/runs/medblind-avx2; [ $bin = new ] && exe=./medblind-new  # built from 8253244
  $exe compare --data /work/shared/datasets/breast_cancer.csv --out refresh-$bin --preset test-insecure-n2048-depth30 \
    --batch 128 --epochs 30 --learning-rate 2 --decay 0.9 --weight-decay 0 --patience 0 --force > refresh-$bin.log 2>&1
  $exe compare --data /work/shared/datasets/breast_cancer.csv --out boot-$bin --preset test-insecure-n4096-boot \
    --batch 256 --epochs 8 --learning-rate 2 --decay 0.9 --weight-decay 0 --patience 0 --force > boot-$bin.log 2>&1
done
