/**
 * The figures of the seed's experiment (../shared/seed/threaded-napi.md, "Figures for
 * calibration"): aggregate kpps delivered to the receivers for each payload size and flow count, in
 * the three configurations. Only these 60 cells are fitted; other sizes are predictions.
 */
import type { SeedConfig } from "./seed.js";

export type SeedRow = { size: number; flows: number } & Record<SeedConfig, number>;

export const SEED_TABLE: readonly SeedRow[] = [
  { size: 1, flows: 1, vanilla: 746, guestThreaded: 901, bothThreaded: 1024 },
  { size: 1, flows: 25, vanilla: 185, guestThreaded: 585, bothThreaded: 789 },
  { size: 1, flows: 50, vanilla: 330, guestThreaded: 642, bothThreaded: 843 },
  { size: 1, flows: 100, vanilla: 180, guestThreaded: 662, bothThreaded: 872 },
  { size: 1, flows: 200, vanilla: 177, guestThreaded: 672, bothThreaded: 812 },
  { size: 256, flows: 1, vanilla: 475, guestThreaded: 777, bothThreaded: 809 },
  { size: 256, flows: 25, vanilla: 303, guestThreaded: 589, bothThreaded: 860 },
  { size: 256, flows: 50, vanilla: 308, guestThreaded: 584, bothThreaded: 825 },
  { size: 256, flows: 100, vanilla: 268, guestThreaded: 698, bothThreaded: 785 },
  { size: 256, flows: 200, vanilla: 186, guestThreaded: 656, bothThreaded: 795 },
  { size: 4096, flows: 1, vanilla: 176, guestThreaded: 207, bothThreaded: 200 },
  { size: 4096, flows: 25, vanilla: 225, guestThreaded: 275, bothThreaded: 286 },
  { size: 4096, flows: 50, vanilla: 212, guestThreaded: 272, bothThreaded: 283 },
  { size: 4096, flows: 100, vanilla: 168, guestThreaded: 264, bothThreaded: 283 },
  { size: 4096, flows: 200, vanilla: 134, guestThreaded: 240, bothThreaded: 273 },
  { size: 64000, flows: 1, vanilla: 16, guestThreaded: 18, bothThreaded: 18 },
  { size: 64000, flows: 25, vanilla: 18, guestThreaded: 18, bothThreaded: 18 },
  { size: 64000, flows: 50, vanilla: 18, guestThreaded: 18, bothThreaded: 18 },
  { size: 64000, flows: 100, vanilla: 18, guestThreaded: 18, bothThreaded: 18 },
  { size: 64000, flows: 200, vanilla: 15, guestThreaded: 15, bothThreaded: 15 },
];

/** The seed's figure for a cell, if the brief gives one. */
export function seedFigure(size: number, flows: number, config: SeedConfig): number | undefined {
  return SEED_TABLE.find((r) => r.size === size && r.flows === flows)?.[config];
}
