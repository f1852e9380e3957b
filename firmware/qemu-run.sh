#!/usr/bin/env bash
# Cargo runner: boots an ELF on QEMU's mps2-an500 (Cortex-M7) and decodes its defmt log (semihosting) with
# defmt-print. The exit status is the firmware's (semihosting exit), 124 on timeout.
# Env: QEMU_TIMEOUT (s, default 300), QEMU_EXTRA (extra QEMU arguments, e.g. "-icount shift=0"),
#      QEMU_SERIAL (UART0 backend, default none).
set -euo pipefail
elf="$1"
shift
timeout "${QEMU_TIMEOUT:-300}" qemu-system-arm -machine mps2-an500 -cpu cortex-m7 \
  -display none -monitor none -serial "${QEMU_SERIAL:-none}" \
  -semihosting-config enable=on,target=native ${QEMU_EXTRA:-} \
  -kernel "$elf" |
  defmt-print -e "$elf"
