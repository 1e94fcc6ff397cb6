/** Small builders for model tests: a kernel on its own event queue with the default profile. */

import type { SchedPolicy } from "../../src/core/vocabulary.js";
import { EventQueue } from "../../src/model/kernel/events.js";
import { Kernel } from "../../src/model/kernel/kernel.js";
import { hogBody } from "../../src/model/kernel/receivers.js";
import type { FairClass } from "../../src/model/kernel/sched.js";
import type { Task } from "../../src/model/kernel/task.js";
import { loadProfile, type Profile } from "../../src/model/profile.js";

export const profile: Profile = loadProfile("default");

export function kernel(cpus: number, o: { fairClass?: FairClass; policy?: Profile["softirqPolicy"] } = {}) {
  const q = new EventQueue();
  const k = new Kernel(q, {
    name: "test",
    cpus,
    figures: profile.figures,
    policy: o.policy ?? "6.5",
    fairClass: o.fairClass ?? "eevdf",
  });
  k.start();
  return { q, k };
}

export function hog(k: Kernel, name: string, policy: SchedPolicy, cpus: number[] | null = [0]): Task {
  const t = k.createTask(name, "hog", policy, cpus, { body: () => hogBody(), preemptible: true });
  return t;
}

/** Share of the measured interval a task ran, after a warm-up. */
export function shares(k: Kernel, q: EventQueue, tasks: Task[], warmNs: number, runNs: number): number[] {
  q.runUntil(warmNs);
  k.resetStats();
  q.runUntil(warmNs + runNs);
  for (const cpu of k.cpus) cpu.flush();
  return tasks.map((t) => t.sumExecNs / runNs);
}
