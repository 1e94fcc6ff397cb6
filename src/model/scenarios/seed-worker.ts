/** Worker thread for running seed-experiment cells in parallel (see runSeedCells). */
import { parentPort } from "node:worker_threads";
import type { Profile } from "../profile.js";
import { runSeedCell, type SeedCellOptions } from "./seed.js";

export interface WorkerJob {
  id: number;
  profile: Profile;
  cell: Omit<SeedCellOptions, "profile">;
}

parentPort?.on("message", (job: WorkerJob) => {
  try {
    const result = runSeedCell({ ...job.cell, profile: job.profile });
    parentPort?.postMessage({ id: job.id, result });
  } catch (err) {
    parentPort?.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err) });
  }
});
