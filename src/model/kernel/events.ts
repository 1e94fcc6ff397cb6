/**
 * The simulation clock and event queue: integer nanoseconds, a binary heap ordered by
 * (time, insertion sequence) so that events at the same instant run in the order they were
 * scheduled, which makes every run with the same input reproduce exactly. Cancelling is lazy:
 * owners keep a generation counter and ignore events whose generation is stale.
 */
export type Action = () => void;

/** An object that handles its own events (no closure per event): fire(arg) is called at the time. */
export interface Target {
  fire(arg: number): void;
}

export class EventQueue {
  /** Current simulated time in integer nanoseconds. */
  now = 0;
  /** Number of events run so far (for speed figures). */
  processed = 0;
  private seq = 0;
  // a binary heap over parallel arrays (typed where they hold numbers): time, insertion sequence,
  // what to run and its argument; `n` entries are valid
  private n = 0;
  private times = new Float64Array(64);
  private seqs = new Float64Array(64);
  private acts: (Action | Target | null)[] = new Array(64).fill(null);
  private args = new Float64Array(64);

  /** Schedule `fn` at absolute time `t` (rounded up to whole ns; never in the past). */
  at(t: number, fn: Action): void {
    this.insert(t, fn, 0);
  }

  /** Schedule target.fire(arg) at absolute time `t`: the allocation-free form for hot paths. */
  call(t: number, target: Target, arg: number): void {
    this.insert(t, target, arg);
  }

  private grow(): void {
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
    for (let i = this.acts.length; i < cap; i++) this.acts.push(null);
  }

  private insert(t: number, fn: Action | Target, arg: number): void {
    const time = t < this.now ? this.now : Math.ceil(t);
    if (this.n === this.times.length) this.grow();
    const times = this.times;
    const seqs = this.seqs;
    const acts = this.acts;
    const args = this.args;
    const s = this.seq++;
    let i = this.n++;
    // sift up
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = times[p] as number;
      if (pt < time || (pt === time && (seqs[p] as number) < s)) break;
      times[i] = pt;
      seqs[i] = seqs[p] as number;
      acts[i] = acts[p] as Action | Target;
      args[i] = args[p] as number;
      i = p;
    }
    times[i] = time;
    seqs[i] = s;
    acts[i] = fn;
    args[i] = arg;
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
  }

  private pop(): Action | Target {
    const times = this.times;
    const seqs = this.seqs;
    const acts = this.acts;
    const args = this.args;
    const top = acts[0] as Action | Target;
    this.now = times[0] as number;
    const n = --this.n;
    const lastT = times[n] as number;
    const lastS = seqs[n] as number;
    const lastA = acts[n] as Action | Target;
    const lastArg = args[n] as number;
    acts[n] = null;
    if (n > 0) {
      let i = 0;
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
        if (ct > lastT || (ct === lastT && (seqs[c] as number) > lastS)) break;
        times[i] = ct;
        seqs[i] = seqs[c] as number;
        acts[i] = acts[c] as Action | Target;
        args[i] = args[c] as number;
        i = c;
      }
      times[i] = lastT;
      seqs[i] = lastS;
      acts[i] = lastA;
      args[i] = lastArg;
    }
    return top;
  }
}
