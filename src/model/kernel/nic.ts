/**
 * A multi-queue NIC: per rx queue a descriptor ring kept as counters (arrivals from constant-rate
 * flow sources are added lazily when the ring is looked at, overflow counted as ring drops), an
 * IRQ per queue with an affinity CPU and interrupt moderation (rx-usecs as a minimum gap between
 * interrupts), masked from the interrupt until the NAPI completes (napi_complete_done), and the
 * driver's poll that takes up to `budget` frames off the ring into the stack.
 */
import type { Cpu } from "./cpu.js";
import { FlowQueue } from "./flowqueue.js";
import type { Kernel } from "./kernel.js";
import { type Napi, type NapiDriver, napiCompleteDone, napiSchedule } from "./napi.js";
import { Batch, type Flow, type FrameSink } from "./socket.js";

const POLL_IDLE = 0;
const POLL_ROUND = 1;
const POLL_AFTER_ROUND = 2;
const POLL_TAIL = 3;
const POLL_FINISH = 4;

export class RxQueue implements NapiDriver {
  readonly k: Kernel;
  readonly index: number;
  readonly ringSize: number;
  readonly ring = new FlowQueue();
  readonly sink: FrameSink;
  napi!: Napi;
  /** CPU the queue's IRQ is delivered to (/proc/irq/N/smp_affinity). */
  irqCpu: number;
  // Constant-rate sources hashed to this queue, as typed per-source arrays (the arrival
  // bookkeeping below walks them on every look at the ring): flow id, datagrams per second, frames
  // per datagram, the fraction of the next datagram already "arrived", and this look's whole ones.
  private nSrc = 0;
  private srcId = new Int32Array(4);
  private srcRate = new Float64Array(4);
  private srcFrags = new Int32Array(4);
  private acc = new Float64Array(4);
  private whole = new Float64Array(4);
  /** Every source has the same rate (the usual case): rate * dt / 1e9 is computed once per look. */
  private uniformRate = true;
  /** The largest acc over the sources (kept by sync and addSource: the next-arrival and landing shortcuts). */
  private topAcc = 0;
  /** The most frames a source's datagram takes, and all sources' frames per datagram together. */
  private maxFrags = 1;
  private totalFrags = 0;
  /**
   * With a uniform rate: the sources ordered by acc, largest first, as a circle starting at
   * orderHead. Adding the same increment keeps the order (a float sum is monotonic), and the
   * sources that land once more than the others are a prefix of it and wrap to its end: one sync
   * turns the circle, so the landing estimate visits only the sources that land.
   */
  private order = new Int32Array(4);
  private orderHead = 0;
  private orderOk = false;
  /** nextArrival() before the max with now, valid until the next sync that adds time (NaN: stale). */
  private nextAt = Number.NaN;
  // per flow id (sparse): frame bytes and frames per datagram of the sources, for bytesOf()
  private bytesById = new Float64Array(0);
  private fragsById = new Int32Array(0);
  private lastSync = 0;
  private irqEnabled = true;
  private irqGen = 0;
  private lastIrqAt = Number.NEGATIVE_INFINITY;
  private batch = new Batch();
  private readonly irqAction = {
    name: "rx",
    costNs: 0,
    handler: (c: Cpu) => (this.primaryHandler !== null ? this.primaryHandler(c) : napiSchedule(this.napi, c)),
  };
  /** With forced irq threading: the primary handler that wakes the irq thread (threadirqs.ts). */
  primaryHandler: ((c: Cpu) => void) | null = null;
  /** Extra hardirq cost of the primary handler (waking the irq thread); 0 without threadirqs. */
  primaryExtraNs = 0;
  /** Datagrams dropped because the ring was full (rx_missed_errors / rx_fifo_errors). */
  ringDrops = 0;
  arrived = 0;
  irqs = 0;

  constructor(k: Kernel, index: number, ringSize: number, irqCpu: number, sink: FrameSink) {
    this.k = k;
    this.index = index;
    this.ringSize = ringSize;
    this.irqCpu = irqCpu;
    this.sink = sink;
  }

  /** Attach a constant-rate flow (its rate is read now); `phase` in [0,1) staggers flows so they do not arrive in lockstep. */
  addSource(flow: Flow, phase = 0): void {
    const i = this.nSrc;
    if (i === this.srcId.length) this.growSources();
    this.srcId[i] = flow.id;
    this.srcRate[i] = flow.rateDps;
    this.srcFrags[i] = flow.framing.frags;
    this.acc[i] = phase;
    if (phase > this.topAcc) this.topAcc = phase;
    this.nSrc = i + 1;
    if (i > 0 && flow.rateDps !== this.srcRate[0]) this.uniformRate = false;
    if (flow.framing.frags > this.maxFrags) this.maxFrags = flow.framing.frags;
    this.totalFrags += flow.framing.frags;
    this.orderOk = false;
    this.nextAt = Number.NaN;
    if (flow.id >= this.fragsById.length) {
      const cap = Math.max(flow.id + 1, this.fragsById.length * 2);
      const bytes = new Float64Array(cap);
      bytes.set(this.bytesById);
      this.bytesById = bytes;
      const frags = new Int32Array(cap);
      frags.set(this.fragsById);
      this.fragsById = frags;
    }
    this.bytesById[flow.id] = flow.framing.frameBytes;
    this.fragsById[flow.id] = flow.framing.frags;
  }

  private growSources(): void {
    const cap = this.srcId.length * 2;
    const grow = <T extends Int32Array | Float64Array>(a: T, b: T): T => {
      b.set(a);
      return b;
    };
    this.srcId = grow(this.srcId, new Int32Array(cap));
    this.srcRate = grow(this.srcRate, new Float64Array(cap));
    this.srcFrags = grow(this.srcFrags, new Int32Array(cap));
    this.acc = grow(this.acc, new Float64Array(cap));
    this.whole = new Float64Array(cap);
    this.order = new Int32Array(cap);
  }

  /** Sort the sources by acc, largest first (ties in any order: only the values matter). */
  private buildOrder(): void {
    const n = this.nSrc;
    const acc = this.acc;
    const idx = Array.from({ length: n }, (_, i) => i).sort(
      (a, b) => (acc[b] as number) - (acc[a] as number),
    );
    for (let i = 0; i < n; i++) this.order[i] = idx[i] as number;
    this.orderHead = 0;
    this.orderOk = true;
  }

  /** Add the datagrams that arrived since the last look; drop whole datagrams that do not fit. */
  sync(now: number): void {
    const dt = now - this.lastSync;
    if (dt <= 0) return;
    const mid = this.lastSync + dt / 2;
    this.lastSync = now;
    this.nextAt = Number.NaN;
    const n = this.nSrc;
    const acc = this.acc;
    const rate = this.srcRate;
    const frags = this.srcFrags;
    const whole = this.whole;
    let wantFrames = 0;
    if (this.uniformRate && n > 0) {
      const inc = ((rate[0] as number) * dt) / 1e9;
      // every source lands base or base + 1 times (acc in [0, 1), and a float sum is monotonic):
      // those landing base + 1 times lead the acc order and move to its end. The most any source
      // lands is what the largest acc gives; beyond base + 1 (rounding at huge increments only)
      // the order is rebuilt.
      const base = Math.floor(inc);
      const odd = Math.floor(this.topAcc + inc) > base + 1;
      let landed = 0;
      // no source can bring more than floor(inc) + 2 datagrams (acc < 1, with a rounding margin):
      // when even that fits the ring nothing is dropped, and one pass adds what arrived
      if ((base + 2) * n * this.maxFrags <= this.ringSize - this.ring.length) {
        const ids = this.srcId;
        const before = this.arrived;
        for (let i = 0; i < n; i++) {
          const a = (acc[i] as number) + inc;
          const d = Math.floor(a);
          acc[i] = a - d;
          if (d !== 0) {
            this.ring.push(ids[i] as number, d * (frags[i] as number), mid);
            this.arrived += d;
          }
        }
        this.turnOrder(this.arrived - before - base * n, odd);
        return;
      }
      for (let i = 0; i < n; i++) {
        const a = (acc[i] as number) + inc;
        const d = Math.floor(a);
        acc[i] = a - d;
        whole[i] = d;
        landed += d;
        wantFrames += d * (frags[i] as number);
      }
      this.turnOrder(landed - base * n, odd);
    } else {
      let top = 0;
      for (let i = 0; i < n; i++) {
        const a = (acc[i] as number) + ((rate[i] as number) * dt) / 1e9;
        const d = Math.floor(a);
        const r = a - d;
        acc[i] = r;
        if (r > top) top = r;
        whole[i] = d;
        wantFrames += d * (frags[i] as number);
      }
      this.topAcc = top;
    }
    if (wantFrames === 0) return;
    const free = this.ringSize - this.ring.length;
    const scale = wantFrames <= free ? 1 : free / wantFrames;
    const ids = this.srcId;
    for (let i = 0; i < n; i++) {
      const d = whole[i] as number;
      if (d === 0) continue;
      const ok = scale === 1 ? d : Math.floor(d * scale);
      this.ring.push(ids[i] as number, ok * (frags[i] as number), mid);
      this.arrived += d;
      this.ringDrops += d - ok;
    }
  }

  /**
   * After a uniform-rate sync: the `extra` sources that landed once more than the others move to
   * the end of the order (or the order is built afresh); the largest acc is then its head's.
   */
  private turnOrder(extra: number, odd: boolean): void {
    if (odd || !this.orderOk) this.buildOrder();
    else if (extra !== 0) {
      const h = this.orderHead + extra;
      this.orderHead = h >= this.nSrc ? h - this.nSrc : h;
    }
    this.topAcc = this.acc[this.order[this.orderHead] as number] as number;
  }

  /** When the next datagram from any source lands in the ring. */
  nextArrival(now: number): number {
    let best = this.nextAt;
    if (Number.isNaN(best)) {
      // NaN: recompute since the last sync moved the sources on
      best = Number.POSITIVE_INFINITY;
      const acc = this.acc;
      const rate = this.srcRate;
      const n = this.nSrc;
      if (this.uniformRate && n > 0) {
        // one rate: the time to the next datagram falls as acc grows (every step below rounds
        // monotonically), so the source with the largest acc lands first: one division, not n
        // (the largest acc is kept by sync)
        const r = rate[0] as number;
        if (r > 0) best = this.lastSync + ((1 - this.topAcc) * 1e9) / r;
      } else {
        for (let i = 0; i < n; i++) {
          const r = rate[i] as number;
          if (r <= 0) continue;
          const t = this.lastSync + ((1 - (acc[i] as number)) * 1e9) / r;
          if (t < best) best = t;
        }
      }
      this.nextAt = best;
    }
    return Math.max(best, now);
  }

  /** Re-arm: the interrupt fires for the first frame after now, no sooner than rx-usecs after the last. */
  armIrq(): void {
    if (!this.irqEnabled) return;
    const now = this.k.q.now;
    this.sync(now);
    const first = this.ring.length > 0 ? now : this.nextArrival(now);
    if (first === Number.POSITIVE_INFINITY) return;
    const at = Math.max(first, this.lastIrqAt + this.k.f.coalesceNs);
    this.k.q.call(at, this, ++this.irqGen);
  }

  /** Event target: the moderated interrupt is due (unless masked since). */
  fire(gen: number): void {
    if (gen === this.irqGen && this.irqEnabled) this.fireIrq();
  }

  private fireIrq(): void {
    this.irqEnabled = false; // the handler masks the queue's interrupt until NAPI completes
    this.lastIrqAt = this.k.q.now;
    this.irqs++;
    const cpu = this.k.cpus[this.irqCpu] as Cpu;
    this.irqAction.costNs = this.k.f.hardirqNs + this.primaryExtraNs;
    cpu.raiseIrq(this.irqAction);
  }

  /**
   * The driver's NAPI poll (igb_clean_rx_irq, ixgbe_clean_rx_irq, mlx5e_poll_rx_cq): clean
   * descriptors until the budget is used or the next one is not done yet. Frames that land while
   * the poll runs are cleaned in the same poll: after each chunk the ring is looked at again.
   * Completes and re-arms only when it found the ring empty before the budget was used.
   * (The generator form, for task contexts; it drives the resumable poll below.)
   */
  *poll(n: Napi, budget: number, cpu: Cpu): Generator<number, number, void> {
    this.pollBegin(n, budget, cpu);
    for (;;) {
      const c = this.pollStep();
      if (c < 0) return this.pollWork;
      yield c;
    }
  }

  // The poll as a resumable state machine: softirq mode runs about one poll per datagram, and a
  // generator frame per poll (plus one per __do_softirq) was most of its allocation. One poll at a
  // time per queue: NAPI_STATE_SCHED gives a NAPI instance a single poller.
  private pPhase = POLL_IDLE;
  private pNapi: Napi | null = null;
  private pCpu: Cpu | null = null;
  private pBudget = 0;
  private pDone = 0;
  private pCost = 0;
  private pFrames = 0;
  private pMore = 0;
  private pPrev = 0;
  private pPer = 0;
  /** Work done by the poll that pollStep() last finished (its return value). */
  pollWork = 0;

  /** Start a poll of up to `budget` frames; then call pollStep() until it returns -1. */
  pollBegin(n: Napi, budget: number, cpu: Cpu): void {
    if (this.pPhase !== POLL_IDLE) throw new Error(`rx queue ${this.index}: poll re-entered`);
    this.pNapi = n;
    this.pCpu = cpu;
    this.pBudget = budget;
    this.pDone = 0;
    // still to be charged: the poll overhead, then each round's delivery (wake-up) cost
    this.pCost = this.k.f.napiPollNs;
    this.pPhase = POLL_ROUND;
  }

  /** The next CPU chunk (ns) of the poll in progress, or -1 when it has finished (see pollWork). */
  pollStep(): number {
    let phase = this.pPhase;
    if (phase === POLL_AFTER_ROUND) phase = this.afterRound() ? POLL_TAIL : POLL_ROUND;
    if (phase === POLL_ROUND) {
      const chunk = this.round();
      if (chunk >= 0) {
        this.pPhase = POLL_AFTER_ROUND;
        return chunk;
      }
      phase = POLL_TAIL;
    }
    if (phase === POLL_TAIL && this.pCost > 0) {
      this.pPhase = POLL_FINISH;
      return Math.round(this.pCost); // an empty poll's overhead, or the last round's delivery cost
    }
    const n = this.pNapi as Napi;
    const cpu = this.pCpu as Cpu;
    const done = this.pDone;
    this.pPhase = POLL_IDLE;
    this.pNapi = null;
    this.pCpu = null;
    this.pollWork = done;
    cpu.softnet.processed += done;
    if (done < this.pBudget && napiCompleteDone(n, cpu, done)) this.rearm();
    return -1;
  }

  /** Take what the ring holds (up to the budget) and return the round's chunk, or -1 if it was empty. */
  private round(): number {
    if (this.pDone >= this.pBudget) return -1;
    const f = this.k.f;
    const b = this.batch;
    const now = this.k.q.now;
    this.sync(now);
    b.clear();
    this.ring.popInto(this.pBudget - this.pDone, b);
    const frames = b.frames;
    if (frames === 0) return -1;
    const own = frames * f.driverRxNs + this.bytesOf(b) * f.driverRxPerByteNs + this.sink.cost(b);
    const cost = this.pCost + own;
    this.pCost = cost;
    // frames that land while this round runs are cleaned in it too: for constant-rate sources
    // their number is known in advance, so they extend this chunk instead of adding rounds
    const per = own / frames;
    const room = this.pBudget - this.pDone - frames;
    let more = 0;
    let prev = -1;
    for (let i = 0; i < 3 && room > 0 && more !== prev; i++) {
      prev = more;
      more = Math.min(room, this.framesLandingBy(now + cost + more * per));
    }
    this.pFrames = frames;
    this.pMore = more;
    this.pPrev = prev;
    this.pPer = per;
    // rounded here as the CPU rounds every chunk: an integer crosses calls without a heap number
    return Math.round(cost + more * per);
  }

  /** After a round's chunk: deliver it, take the frames that landed meanwhile. True: the poll is over. */
  private afterRound(): boolean {
    const f = this.k.f;
    const b = this.batch;
    const cpu = this.pCpu as Cpu;
    const more = this.pMore;
    const prev = this.pPrev;
    let cost = this.sink.deliver(b, cpu);
    this.pDone += this.pFrames;
    // the estimate settled on a fixed point and nothing lands: the ring is empty now
    if (more === 0 && more === prev) {
      this.pCost = cost;
      return true;
    }
    if (more > 0) {
      this.sync(this.k.q.now);
      b.clear();
      this.ring.popInto(more, b);
      const got = b.frames;
      const actual = got * f.driverRxNs + this.bytesOf(b) * f.driverRxPerByteNs + this.sink.cost(b);
      cost = Math.max(0, cost + actual - more * this.pPer); // settle the estimate in the next chunk
      cost += this.sink.deliver(b, cpu);
      this.pDone += got;
      this.pCost = cost;
      if (got === more && more === prev) return true; // exact fixed point: nothing else landed
      return false;
    }
    this.pCost = cost;
    return false;
  }

  /** Frames the constant-rate sources will have put in the ring by time t (what sync(t) would add). */
  private framesLandingBy(t: number): number {
    const dt = t - this.lastSync;
    if (dt <= 0) return 0;
    const n = this.nSrc;
    const acc = this.acc;
    const rate = this.srcRate;
    const frags = this.srcFrags;
    let frames = 0;
    if (this.uniformRate && n > 0) {
      const inc = ((rate[0] as number) * dt) / 1e9;
      // a float sum is monotonic in each term: when the source with the largest acc has not
      // landed by t, none has; otherwise every source lands at least base times, and the ones
      // landing more are the first in acc order (the same integer sum as over every source)
      if (Math.floor(this.topAcc + inc) !== 0) {
        if (!this.orderOk) this.buildOrder();
        const base = Math.floor(inc);
        frames = base * this.totalFrags;
        const order = this.order;
        let p = this.orderHead;
        for (let j = 0; j < n; j++) {
          const i = order[p] as number;
          const x = Math.floor((acc[i] as number) + inc) - base;
          if (x <= 0) break;
          frames += x * (frags[i] as number);
          if (++p === n) p = 0;
        }
      }
    } else {
      for (let i = 0; i < n; i++)
        frames += Math.floor((acc[i] as number) + ((rate[i] as number) * dt) / 1e9) * (frags[i] as number);
    }
    return Math.min(frames, this.ringSize - this.ring.length);
  }

  /** Unmask the queue's interrupt (after napi_complete_done returned true). */
  rearm(): void {
    this.irqEnabled = true;
    this.armIrq();
  }

  /** Frame bytes in a batch, for per-byte driver costs (DMA sync, page handling). */
  private bytesOf(b: Batch): number {
    let bytes = 0;
    for (let i = 0; i < b.n; i++) {
      const id = b.flows[i] as number;
      const frags = id < this.fragsById.length ? (this.fragsById[id] as number) : 0;
      if (frags === 0) throw new Error(`flow ${id} is not a source of rx queue ${this.index}`);
      bytes += ((b.counts[i] as number) * (this.bytesById[id] as number)) / frags;
    }
    return bytes;
  }

  resetStats(): void {
    this.sync(this.k.q.now);
    this.ringDrops = 0;
    this.arrived = 0;
    this.irqs = 0;
  }
}
