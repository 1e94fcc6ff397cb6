/**
 * `npm run bench:sim:ab -- <before> <after>`: two builds of the model, measured back to back in
 * one process. On a shared machine wall-clock figures of separate runs say more about the
 * neighbours than about the model; alternating the two builds run by run, and keeping each one's
 * fastest run (CPU time of this process), compares them under the same disturbance.
 *
 * <before> and <after> are compiled trees with model/ inside (a `dist` folder: `npm run build`; for
 * an older commit: `git archive <commit> | tar -x -C /tmp/old`, link node_modules into it, and run
 * `npx tsc -p tsconfig.build.json` there). Prints, per case, each build's fastest CPU time, the
 * ratio after/before, and the event counts (identical when the results are).
 * Cases: the bench:sim flood in each mode (2 CPUs, 2 Mpps, 25 flows; SIM_AB_NS simulated, default
 * 1e9), the large host in two modes (SIM_AB_LARGE_NS, default 5e7), and the 90 seed cells
 * (SIM_AB_SEED=0 skips them). SIM_AB_ROUNDS runs per build and case (default 5; seed: 3).
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { floodCase, type SimMode, seedCells } from "./sim-cases.js";

type FloodMod = typeof import("../src/model/scenarios/flood.js");
type ProfileMod = typeof import("../src/model/profile.js");
type ReproduceMod = typeof import("../src/model/scenarios/reproduce.js");
type SeedMod = typeof import("../src/model/scenarios/seed.js");

const dirs = process.argv.slice(2).filter((a) => !a.startsWith("--"));
if (dirs.length !== 2) {
  process.stderr.write(
    "napilab: bench:sim:ab needs two compiled trees: <before> <after> (e.g. /tmp/old/dist dist)\n",
  );
  process.exit(2);
}
const ns = Number(process.env.SIM_AB_NS ?? 1e9);
const largeNs = Number(process.env.SIM_AB_LARGE_NS ?? 5e7);
const rounds = Math.max(1, Number(process.env.SIM_AB_ROUNDS ?? 5));
const out = (s: string) => process.stdout.write(`${s}\n`);

interface Build {
  flood: (mode: SimMode, ns: number, large: boolean) => number;
  seed: () => Promise<void>;
}

async function load(dir: string): Promise<Build> {
  const url = (p: string) => pathToFileURL(path.resolve(dir, p)).href;
  const { runFlood } = (await import(url("model/scenarios/flood.js"))) as FloodMod;
  const { loadProfile } = (await import(url("model/profile.js"))) as ProfileMod;
  const { runSeedCells } = (await import(url("model/scenarios/reproduce.js"))) as ReproduceMod;
  const { SEED_CONFIGS } = (await import(url("model/scenarios/seed.js"))) as SeedMod;
  const profile = loadProfile("default");
  const seedProfile = loadProfile("seed-experiment");
  const cells = seedCells(SEED_CONFIGS);
  return {
    flood: (mode, d, large) => runFlood({ profile, ...floodCase(mode, d, large) }).sim.events,
    seed: async () => {
      await runSeedCells(seedProfile, cells, 0);
    },
  };
}

const builds = [await load(dirs[0] as string), await load(dirs[1] as string)];
const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;

function compare(label: string, run: (b: Build) => number, n: number): void {
  for (const b of builds) run(b); // warm-up: compile this case's hot paths in both builds
  const best = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  const events = [0, 0];
  for (let i = 0; i < n; i++)
    for (let j = 0; j < 2; j++) {
      const c0 = process.cpuUsage();
      events[j] = run(builds[j] as Build);
      best[j] = Math.min(best[j] as number, cpuMs(process.cpuUsage(c0)));
    }
  const [a, b] = best as [number, number];
  out(
    `sim-ab ${label.padEnd(30)} before ${a.toFixed(0)} ms, after ${b.toFixed(0)} ms CPU (after/before ${(b / a).toFixed(3)}); ` +
      `events ${events[0]} / ${events[1]}`,
  );
}

out(
  `sim-ab: before ${dirs[0]}, after ${dirs[1]}; fastest of ${rounds} alternating runs each, CPU time of this process`,
);
for (const mode of ["softirq", "threaded", "busy-poll"] as const)
  compare(`${mode}, ${ns / 1e9}s simulated`, (b) => b.flood(mode, ns, false), rounds);
for (const mode of ["threaded", "softirq"] as const)
  compare(`large host ${mode}, ${largeNs / 1e9}s`, (b) => b.flood(mode, largeNs, true), rounds);
if (process.env.SIM_AB_SEED !== "0") {
  const best = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  const first = [0, 0];
  const n = Math.min(rounds, 3);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < 2; j++) {
      const c0 = process.cpuUsage();
      await (builds[j] as Build).seed();
      const ms = cpuMs(process.cpuUsage(c0));
      if (i === 0) first[j] = ms;
      best[j] = Math.min(best[j] as number, ms);
    }
  out(
    `sim-ab seed, 90 cells                  before ${(best[0] as number).toFixed(0)} ms, after ${(best[1] as number).toFixed(0)} ms CPU ` +
      `(after/before ${((best[1] as number) / (best[0] as number)).toFixed(3)}; first runs, with JIT: ${(first[0] as number).toFixed(0)} / ${(first[1] as number).toFixed(0)} ms)`,
  );
}
