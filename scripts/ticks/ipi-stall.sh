#!/bin/bash
# How long a busy (v)CPU loses per IPI it receives: a thread on CPU 1 reads CLOCK_MONOTONIC in a loop
# and counts the gaps; a thread on CPU 0 maps, touches and unmaps a page every 200 us (a TLB
# shootdown: a call-function IPI to CPU 1). Prints the gaps without (0) and with (1) the IPIs.
# Needs gcc (compiled into a temporary directory). Usage: scripts/ticks/ipi-stall.sh
set -euo pipefail
D=$(mktemp -d); trap 'rm -rf "$D"' EXIT
gcc -O2 -pthread -o "$D/ipi-stall" "$(dirname "$0")/ipi-stall.c"
"$D/ipi-stall" 0
"$D/ipi-stall" 1
