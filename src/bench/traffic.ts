/**
 * Starting and stopping the traffic threads of a run: a group of receivers (one per flow) and a
 * sender. Each group shares a stop flag and a counter buffer with the main thread.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { HostError } from "../core/errors.js";
import {
  CTRL_STOP,
  SLOT_ERRORS,
  SLOT_NAPI_ID,
  SLOT_PACKETS,
  SLOT_WIDTH,
  type TrafficWorkerData,
  type WorkerMessage,
} from "./traffic-protocol.js";

/** Where the worker's code is: compiled .js next to this file, or .ts under tsx when run from source. */
function workerEntry(): { entry: URL | string; eval: boolean } {
  const here = import.meta.url;
  if (here.endsWith(".ts")) {
    // tsx's hooks do not reach a worker's entry point on Node 20: register them inside the worker
    const api = import.meta.resolve("tsx/esm/api");
    const file = new URL("./traffic-worker.ts", here).href;
    const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(file)}); });`;
    return { entry: code, eval: true };
  }
  const url = new URL("./traffic-worker.js", here);
  if (!existsSync(fileURLToPath(url))) throw new Error(`bench worker missing: ${url.href}`);
  return { entry: url, eval: false };
}

type Role<R extends TrafficWorkerData["role"]> = Omit<
  Extract<TrafficWorkerData, { role: R }>,
  "control" | "counters" | "slot"
>;
type ThreadSpec = Role<"receiver"> | Role<"sender">;

/** A set of traffic threads started together; `tids` are their kernel task ids, in spec order. */
export class ThreadGroup {
  readonly tids: number[] = [];
  private readonly workers: Worker[] = [];
  private readonly control = new SharedArrayBuffer(4);
  private readonly counters: Float64Array;
  private readonly ctrl = new Int32Array(this.control);
  private failure: string | undefined;

  private constructor(private readonly size: number) {
    this.counters = new Float64Array(new SharedArrayBuffer(size * SLOT_WIDTH * 8));
  }

  /** Start one thread per spec and wait until every one has its socket open (or one fails). */
  static async start(specs: ThreadSpec[], timeoutMs = 30_000): Promise<ThreadGroup> {
    const group = new ThreadGroup(specs.length);
    const entry = workerEntry();
    const ready = specs.map((spec, slot) => {
      const data = {
        ...spec,
        control: group.control,
        counters: group.counters.buffer as SharedArrayBuffer,
        slot,
      } as TrafficWorkerData;
      const worker = new Worker(entry.entry, {
        eval: entry.eval,
        workerData: data,
        // receivers only count: a small heap keeps hundreds of them affordable
        resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 },
        stdout: false,
        stderr: false,
      });
      group.workers.push(worker);
      return new Promise<void>((resolve, reject) => {
        worker.on("message", (m: WorkerMessage) => {
          if (m.type === "ready") {
            group.tids[slot] = m.tid;
            resolve();
          } else if (m.type === "error") {
            group.failure ??= `${spec.role} thread: ${m.message}`;
            reject(new HostError(group.failure));
          }
        });
        worker.on("error", (e) => {
          group.failure ??= `${spec.role} thread crashed: ${e.message}`;
          reject(new HostError(group.failure));
        });
        worker.on("exit", () => reject(new HostError(`${spec.role} thread exited before it was ready`)));
      });
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HostError("traffic threads did not start in time")), timeoutMs);
    });
    try {
      await Promise.race([Promise.all(ready), timeout]);
    } catch (err) {
      await group.terminate();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return group;
  }

  /** Packets counted by each thread so far (sent by a sender, received by a receiver). */
  packets(): number[] {
    return Array.from({ length: this.size }, (_, i) => this.counters[i * SLOT_WIDTH + SLOT_PACKETS] ?? 0);
  }

  /** Receivers with a variant: each socket's SO_INCOMING_NAPI_ID (0: none recorded or no datagram yet). */
  napiIds(): number[] {
    return Array.from({ length: this.size }, (_, i) => this.counters[i * SLOT_WIDTH + SLOT_NAPI_ID] ?? 0);
  }

  errors(): number[] {
    return Array.from({ length: this.size }, (_, i) => this.counters[i * SLOT_WIDTH + SLOT_ERRORS] ?? 0);
  }

  /** A message from a thread that failed after start, if any. */
  get failed(): string | undefined {
    return this.failure;
  }

  /** Ask every thread to stop and wait for them to leave their loops (a recv times out in 250 ms). */
  async stop(): Promise<void> {
    Atomics.store(this.ctrl, CTRL_STOP, 1);
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.threadId === -1) return resolve();
            const t = setTimeout(() => {
              void w.terminate().then(() => resolve());
            }, 2000);
            w.once("exit", () => {
              clearTimeout(t);
              resolve();
            });
          }),
      ),
    );
  }

  /** Stop at once (error paths). */
  async terminate(): Promise<void> {
    Atomics.store(this.ctrl, CTRL_STOP, 1);
    await Promise.all(this.workers.map((w) => w.terminate().catch(() => 0)));
  }
}
