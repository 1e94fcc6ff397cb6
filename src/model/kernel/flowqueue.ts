/**
 * A FIFO of packets kept as runs (flow, count, arrival time) instead of packet objects: rings,
 * device queues and socket receive queues all use it. Popping n packets visits the runs they came
 * from, so per-flow delivery and wire-to-recv latency stay exact while the cost stays per run.
 * Storage is a growable circular buffer, so steady operation allocates nothing.
 */
import type { LatencyHistogram } from "./histogram.js";

/** Runs appended by popInto (socket.ts's Batch has this shape). */
export interface RunSink {
  flows: number[];
  counts: number[];
  times: number[];
  n: number;
  frames: number;
}

export class FlowQueue {
  private flows = new Int32Array(16);
  private counts = new Float64Array(16);
  private times = new Float64Array(16);
  private head = 0;
  private runs = 0;
  /** Packets currently queued. */
  length = 0;

  push(flow: number, count: number, t: number): void {
    if (count <= 0) return;
    const cap = this.flows.length;
    if (this.runs > 0) {
      // merge with the tail run of the same flow and time (common for steady sources)
      const last = (this.head + this.runs - 1) & (cap - 1);
      if (this.flows[last] === flow && this.times[last] === t) {
        this.counts[last] = (this.counts[last] as number) + count;
        this.length += count;
        return;
      }
    }
    if (this.runs === cap) this.grow();
    const i = (this.head + this.runs) & (this.flows.length - 1);
    this.flows[i] = flow;
    this.counts[i] = count;
    this.times[i] = t;
    this.runs++;
    this.length += count;
  }

  /** Remove up to n packets from the head; visit(flow, count, arrivalTime) per run taken. Returns taken. */
  pop(n: number, visit: (flow: number, count: number, t: number) => void): number {
    let taken = 0;
    const mask = this.flows.length - 1;
    while (taken < n && this.runs > 0) {
      const h = this.head;
      const c = this.counts[h] as number;
      const want = n - taken;
      if (c <= want) {
        visit(this.flows[h] as number, c, this.times[h] as number);
        taken += c;
        this.head = (h + 1) & mask;
        this.runs--;
      } else {
        visit(this.flows[h] as number, want, this.times[h] as number);
        this.counts[h] = c - want;
        taken += want;
      }
    }
    this.length -= taken;
    if (this.runs === 0) this.head = 0;
    return taken;
  }

  /** pop(n, b.add) without a call per run (the drivers' hot path): append the runs taken to b. */
  popInto(n: number, b: RunSink): number {
    let taken = 0;
    const mask = this.flows.length - 1;
    let j = b.n;
    while (taken < n && this.runs > 0) {
      const h = this.head;
      const c = this.counts[h] as number;
      const want = n - taken;
      b.flows[j] = this.flows[h] as number;
      b.times[j] = this.times[h] as number;
      if (c <= want) {
        b.counts[j] = c;
        taken += c;
        this.head = (h + 1) & mask;
        this.runs--;
      } else {
        b.counts[j] = want;
        this.counts[h] = c - want;
        taken += want;
      }
      j++;
    }
    b.n = j;
    b.frames += taken;
    this.length -= taken;
    if (this.runs === 0) this.head = 0;
    return taken;
  }

  /**
   * pop(n, (_flow, count, t) => latency.add(now - t, count)) without a closure per call (the
   * receivers' hot path): record each run's arrival-to-`now` latency. Returns taken.
   */
  popLatency(n: number, now: number, latency: LatencyHistogram): number {
    let taken = 0;
    const mask = this.flows.length - 1;
    while (taken < n && this.runs > 0) {
      const h = this.head;
      const c = this.counts[h] as number;
      const want = n - taken;
      if (c <= want) {
        latency.add(now - (this.times[h] as number), c);
        taken += c;
        this.head = (h + 1) & mask;
        this.runs--;
      } else {
        latency.add(now - (this.times[h] as number), want);
        this.counts[h] = c - want;
        taken += want;
      }
    }
    this.length -= taken;
    if (this.runs === 0) this.head = 0;
    return taken;
  }

  /** Arrival time of the packet at the head, or undefined when empty. */
  headTime(): number | undefined {
    return this.runs > 0 ? this.times[this.head] : undefined;
  }

  clear(): void {
    this.head = 0;
    this.runs = 0;
    this.length = 0;
  }

  private grow(): void {
    const cap = this.flows.length;
    const flows = new Int32Array(cap * 2);
    const counts = new Float64Array(cap * 2);
    const times = new Float64Array(cap * 2);
    for (let k = 0; k < this.runs; k++) {
      const i = (this.head + k) & (cap - 1);
      flows[k] = this.flows[i] as number;
      counts[k] = this.counts[i] as number;
      times[k] = this.times[i] as number;
    }
    this.flows = flows;
    this.counts = counts;
    this.times = times;
    this.head = 0;
  }
}
