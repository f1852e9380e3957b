#!/usr/bin/env bash
# The same two runs as run.sh with the binary of the finished redesign (376057a).
set -u
exe=./medblind-final
$exe compare --data /work/shared/datasets/breast_cancer.csv --out refresh-final --preset test-insecure-n2048-depth30 \
  --batch 128 --epochs 30 --learning-rate 2 --decay 0.9 --weight-decay 0 --patience 0 --force > refresh-final.log 2>&1
$exe compare --data /work/shared/datasets/breast_cancer.csv --out boot-final --preset test-insecure-n4096-boot \
  --batch 256 --epochs 8 --learning-rate 2 --decay 0.9 --weight-decay 0 --patience 0 --force > boot-final.log 2>&1
