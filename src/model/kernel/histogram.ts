/**
 * A latency histogram with logarithmic buckets (about 2% relative precision) that takes counts in
 * batches, because the model delivers datagrams in batches rather than one by one.
 */
const SUB = 32; // buckets per power of two
/** Bucket indices stay below this: values are clamped to 2^31 - 1, so e <= 30 and b <= 30 * SUB + 31 + 1000. */
const BUCKETS = 2048;

export class LatencyHistogram {
  /** Count per bucket index (see add); a dense array, since the indices are small (< BUCKETS). */
  private counts = new Float64Array(BUCKETS);
  total = 0;

  add(valueNs: number, count = 1): void {
    if (count <= 0) return;
    const v = Math.min(2 ** 31 - 1, Math.max(1, Math.round(valueNs)));
    // exponent and 5 mantissa bits: buckets of 1/32 of a power of two
    const e = 31 - Math.clz32(v);
    const b = e < 5 ? v : e * SUB + ((v >>> (e - 5)) & (SUB - 1)) + 1000;
    this.counts[b] = (this.counts[b] as number) + count;
    this.total += count;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
  }

  private static value(b: number): number {
    if (b < 1000) return b;
    const k = b - 1000;
    const e = Math.floor(k / SUB);
    const m = k % SUB;
    return Math.round((SUB + m + 0.5) * 2 ** (e - 5));
  }

  /** The value at quantile q (0..1), in ns, or 0 when empty. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const counts = this.counts;
    const target = q * this.total;
    let seen = 0;
    let last = 0;
    for (let k = 0; k < BUCKETS; k++) {
      const c = counts[k] as number;
      if (c === 0) continue;
      last = k;
      seen += c;
      if (seen >= target) return LatencyHistogram.value(k);
    }
    return LatencyHistogram.value(last);
  }
}
