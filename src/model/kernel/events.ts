/**
 * The simulation clock and event queue: integer nanoseconds, a binary heap ordered by
 * (time, insertion sequence) so that events at the same instant run in the order they were
 * scheduled, which makes every run with the same input reproduce exactly. Cancelling is lazy for
 * plain events (owners keep a generation counter and ignore stale ones); an owner that re-arms
 * often (a CPU's end of chunk, an rx queue's interrupt) holds one slot instead: re-arming moves
 * its single entry (hrtimer_start on an armed hrtimer re-queues it; nothing stale is left behind).
 *
 * `processed` counts events run, and a superseded slot entry still counts, when the clock passes
 * its old time, as the stale event it replaced used to (the golden results carry this figure).
 */
export type Action = () => void;

/** An object that handles its own events (no closure per event): fire(arg) is called at the time. */
export interface Target {
  fire(arg: number): void;
}

export class EventQueue {
  /** Current simulated time in integer nanoseconds. */
  now = 0;
  /** Number of events run so far, superseded slot entries included (see the header). */
  processed = 0;
  private seq = 0;
  // a binary heap over parallel arrays (typed where they hold numbers): time, insertion sequence,
  // what to run, its argument, and the slot it belongs to (-1: a plain event); `n` entries are valid
  private n = 0;
  private times = new Float64Array(64);
  private seqs = new Float64Array(64);
  private acts: (Action | Target | null)[] = new Array(64).fill(null);
  private args = new Float64Array(64);
  private slotOf = new Int32Array(64);
  // slots: each one's heap index (-1: not armed) and target
  private slotPos = new Int32Array(8);
  private slotTargets: Target[] = [];
  // old times of superseded slot entries not yet passed by the clock (counted into `processed` then)
  private ghosts = new Float64Array(64);
  private nGhosts = 0;

  /** Schedule `fn` at absolute time `t` (rounded up to whole ns; never in the past). */
  at(t: number, fn: Action): void {
    this.siftUp(this.grown(), this.timeOf(t), this.seq++, fn, 0, -1);
  }

  /** Schedule target.fire(arg) at absolute time `t`: the allocation-free form for hot paths. */
  call(t: number, target: Target, arg: number): void {
    this.siftUp(this.grown(), this.timeOf(t), this.seq++, target, arg, -1);
  }

  /** A timer slot for `target`: at most one pending entry, moved by arm() and removed by disarm(). */
  newSlot(target: Target): number {
    const id = this.slotTargets.length;
    this.slotTargets.push(target);
    if (id === this.slotPos.length) {
      const pos = new Int32Array(id * 2);
      pos.set(this.slotPos);
      this.slotPos = pos;
    }
    this.slotPos[id] = -1;
    return id;
  }

  /**
   * Arm `slot` to call its target's fire(arg) at time `t`, replacing its pending entry if any (as
   * if that one had been left stale and a new one scheduled now: same order among equal times).
   */
  arm(slot: number, t: number, arg: number): void {
    const time = this.timeOf(t);
    const i = this.slotPos[slot] as number;
    const target = this.slotTargets[slot] as Target;
    if (i < 0) {
      this.siftUp(this.grown(), time, this.seq++, target, arg, slot);
      return;
    }
    const old = this.times[i] as number;
    this.ghost(old);
    // the new key (time, a newer sequence) is after the old one unless its time is earlier
    if (time < old) this.siftUp(i, time, this.seq++, target, arg, slot);
    else this.siftDown(i, time, this.seq++, target, arg, slot);
  }

  /** Remove the pending entry of `slot`, if any (it still counts as run once its time passes). */
  disarm(slot: number): void {
    const i = this.slotPos[slot] as number;
    if (i < 0) return;
    this.ghost(this.times[i] as number);
    this.slotPos[slot] = -1;
    this.removeAt(i);
  }

  private ghost(t: number): void {
    if (this.nGhosts === this.ghosts.length) {
      const g = new Float64Array(this.ghosts.length * 2);
      g.set(this.ghosts);
      this.ghosts = g;
    }
    this.ghosts[this.nGhosts++] = t;
  }

  private timeOf(t: number): number {
    return t < this.now ? this.now : Math.ceil(t);
  }

  /** Make room for one more entry; returns the index of the new hole at the end. */
  private grown(): number {
    if (this.n === this.times.length) {
      const cap = this.times.length * 2;
      const times = new Float64Array(cap);
      times.set(this.times);
      this.times = times;
      const seqs = new Float64Array(cap);
      seqs.set(this.seqs);
      this.seqs = seqs;
      const args = new Float64Array(cap);
      args.set(this.args);
      this.args = args;
      const slotOf = new Int32Array(cap);
      slotOf.set(this.slotOf);
      this.slotOf = slotOf;
      for (let i = this.acts.length; i < cap; i++) this.acts.push(null);
    }
    return this.n++;
  }

  /** Place an entry at hole i or above it (its key is not after its children's). */
  private siftUp(i: number, time: number, s: number, fn: Action | Target, arg: number, slot: number): void {
    const times = this.times;
    const seqs = this.seqs;
    const acts = this.acts;
    const args = this.args;
    const slotOf = this.slotOf;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = times[p] as number;
      if (pt < time || (pt === time && (seqs[p] as number) < s)) break;
      times[i] = pt;
      seqs[i] = seqs[p] as number;
      acts[i] = acts[p] as Action | Target;
      args[i] = args[p] as number;
      const ps = slotOf[p] as number;
      slotOf[i] = ps;
      if (ps >= 0) this.slotPos[ps] = i;
      i = p;
    }
    times[i] = time;
    seqs[i] = s;
    acts[i] = fn;
    args[i] = arg;
    slotOf[i] = slot;
    if (slot >= 0) this.slotPos[slot] = i;
  }

  /** Place an entry at hole i or below it (its key is not before its parent's). */
  private siftDown(i: number, time: number, s: number, fn: Action | Target, arg: number, slot: number): void {
    const times = this.times;
    const seqs = this.seqs;
    const acts = this.acts;
    const args = this.args;
    const slotOf = this.slotOf;
    const n = this.n;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n) {
        const lt = times[l] as number;
        const rt = times[r] as number;
        if (rt < lt || (rt === lt && (seqs[r] as number) < (seqs[l] as number))) c = r;
      }
      const ct = times[c] as number;
      if (ct > time || (ct === time && (seqs[c] as number) > s)) break;
      times[i] = ct;
      seqs[i] = seqs[c] as number;
      acts[i] = acts[c] as Action | Target;
      args[i] = args[c] as number;
      const cs = slotOf[c] as number;
      slotOf[i] = cs;
      if (cs >= 0) this.slotPos[cs] = i;
      i = c;
    }
    times[i] = time;
    seqs[i] = s;
    acts[i] = fn;
    args[i] = arg;
    slotOf[i] = slot;
    if (slot >= 0) this.slotPos[slot] = i;
  }

  /** Take entry i out of the heap: the last entry fills the hole, moved up or down. */
  private removeAt(i: number): void {
    const n = --this.n;
    const t = this.times[n] as number;
    const s = this.seqs[n] as number;
    const a = this.acts[n] as Action | Target;
    const arg = this.args[n] as number;
    const slot = this.slotOf[n] as number;
    this.acts[n] = null;
    if (i === n) return;
    if (i > 0) {
      const p = (i - 1) >> 1;
      const pt = this.times[p] as number;
      if (t < pt || (t === pt && s < (this.seqs[p] as number))) {
        this.siftUp(i, t, s, a, arg, slot);
        return;
      }
    }
    this.siftDown(i, t, s, a, arg, slot);
  }

  /** Schedule `fn` after `delay` ns from now. */
  after(delay: number, fn: Action): void {
    this.at(this.now + delay, fn);
  }

  get size(): number {
    return this.n;
  }

  /** Run events in order until the next one would be after `end`; the clock ends at `end`. */
  runUntil(end: number): void {
    while (this.n > 0 && (this.times[0] as number) <= end) {
      const arg = this.args[0] as number;
      const fn = this.pop();
      if (typeof fn === "function") fn();
      else fn.fire(arg);
      this.processed++;
    }
    if (this.now < end) this.now = end;
    // superseded slot entries the clock has now passed count as the stale events they replace
    const g = this.ghosts;
    let w = 0;
    for (let i = 0; i < this.nGhosts; i++) {
      const t = g[i] as number;
      if (t <= end) this.processed++;
      else g[w++] = t;
    }
    this.nGhosts = w;
  }

  private pop(): Action | Target {
    const top = this.acts[0] as Action | Target;
    this.now = this.times[0] as number;
    const slot = this.slotOf[0] as number;
    if (slot >= 0) this.slotPos[slot] = -1;
    const n = --this.n;
    const t = this.times[n] as number;
    const s = this.seqs[n] as number;
    const a = this.acts[n] as Action | Target;
    const arg = this.args[n] as number;
    const ls = this.slotOf[n] as number;
    this.acts[n] = null;
    if (n > 0) this.siftDown(0, t, s, a, arg, ls);
    return top;
  }
}
