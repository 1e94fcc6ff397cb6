#!/bin/bash
# What /proc/stat's softirq tick sample is made of on this host: runs one napilab bench cell (6 s
# window), traces 1 s of it with ftrace (softirq, IPI and timer vectors, tick hrtimer, ipi_send_cpu)
# in a tracing instance of its own, and prints per CPU the softirq time, where the ticks were taken
# and how long IPIs took to arrive (scripts/ticks/analyse.ts). Root only; mounts tracefs if it is not
# mounted and unmounts it again. The tracing itself slows the cell (the figures are about the
# mechanism, not the rates).
# Usage: scripts/ticks/trace-cell.sh MODE SIZE FLOWS OUT.txt   e.g. softirq 512 1 /tmp/ticks.txt
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 MODE SIZE FLOWS OUT.txt" >&2; exit 2; }
MODE=$1 SIZE=$2 FLOWS=$3 OUT=$4
cd "$(dirname "$0")/../.."
TR=/sys/kernel/tracing
MOUNTED=0
if [ ! -e $TR/instances ]; then mount -t tracefs nodev $TR; MOUNTED=1; fi
I=$TR/instances/napilab-ticks-$$
EVENTS="irq/softirq_entry irq/softirq_exit irq_vectors/local_timer_entry irq_vectors/local_timer_exit
  irq_vectors/call_function_single_entry irq_vectors/call_function_single_exit
  irq_vectors/call_function_entry irq_vectors/call_function_exit
  irq_vectors/reschedule_entry irq_vectors/reschedule_exit timer/hrtimer_expire_entry ipi/ipi_send_cpu"
cleanup() {
  [ -d "$I" ] && { echo 0 > "$I/tracing_on"; rmdir "$I"; } || true
  [ $MOUNTED = 1 ] && umount $TR || true
}
trap cleanup EXIT
mkdir "$I"
echo 0 > "$I/tracing_on" # an instance starts on
echo 65536 > "$I/buffer_size_kb"
echo mono > "$I/trace_clock"
for e in $EVENTS; do echo 1 > "$I/events/$e/enable"; done
npx tsx src/cli/main.ts bench --modes "$MODE" --sizes "$SIZE" --flows "$FLOWS" --duration 6s --no-save &
BENCH=$!
sleep 4.5
echo > "$I/trace"
echo 1 > "$I/tracing_on"; sleep 1; echo 0 > "$I/tracing_on"
cat "$I/trace" > "$OUT"
wait $BENCH
npx tsx scripts/ticks/analyse.ts "$OUT"
