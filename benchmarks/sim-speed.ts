/**
 * `npm run bench:sim`: how fast the model runs. Simulates a 2-CPU host under a 2 Mpps, 25-flow UDP
 * flood (64-byte datagrams) in each NAPI mode and prints simulated datagrams per wall-clock second.
 * Target: at least 5 million per second on a 2-core machine.
 */
import { runFlood } from "../src/model/flood.js";
import { loadProfile } from "../src/model/profile.js";

const profile = loadProfile("default");
const durationNs = Number(process.env.SIM_BENCH_NS ?? 1e9);
// warm the JIT so the figure is the steady state
runFlood({ profile, cpus: 2, mode: "softirq", ratePps: 2e6, size: 64, flows: 25, durationNs: 50e6 });
let total = 0;
let wall = 0;
for (const mode of ["softirq", "threaded", "busy-poll"] as const) {
  const t0 = performance.now();
  const r = runFlood({
    profile,
    cpus: 2,
    mode,
    ratePps: 2e6,
    size: 64,
    flows: 25,
    durationNs,
    warmupNs: 10e6,
  });
  const ms = performance.now() - t0;
  const simulated = r.sim.datagrams;
  total += simulated;
  wall += ms;
  process.stdout.write(
    `sim-speed ${mode.padEnd(9)} 2 CPUs, 2 Mpps, 25 flows, ${durationNs / 1e9}s simulated: ` +
      `${(simulated / (ms / 1000) / 1e6).toFixed(2)}M simulated datagrams/s (${r.sim.events} events, ${ms.toFixed(0)} ms wall)\n`,
  );
}
process.stdout.write(
  `sim-speed overall: ${(total / (wall / 1000) / 1e6).toFixed(2)}M simulated datagrams per wall-clock second (target >= 5M)\n`,
);
