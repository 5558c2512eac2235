/**
 * A log-linear histogram of microsecond latencies (HDR-style: exact below
 * 128 µs, then 64 buckets per power of two, so about 1.5 % resolution).
 * Small to ship between processes and exact to merge, unlike a sample list.
 */
const LINEAR_LIMIT = 128;
const SUB_BUCKETS = 64;
const MAX_MICROS = 2 ** 31 - 1;

export interface HistogramSnapshot {
  /** [bucket index, count] pairs of the buckets that are not empty. */
  readonly buckets: [number, number][];
  readonly count: number;
  readonly maxMicros: number;
}

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export class LatencyHistogram {
  private readonly counts = new Map<number, number>();
  private total = 0;
  private max = 0;

  static from(snapshots: readonly HistogramSnapshot[]): LatencyHistogram {
    const merged = new LatencyHistogram();
    for (const snapshot of snapshots) merged.add(snapshot);
    return merged;
  }

  get count(): number {
    return this.total;
  }

  record(micros: number): void {
    const value = Math.min(MAX_MICROS, Math.max(0, Math.round(micros)));
    const index = bucketIndex(value);
    this.counts.set(index, (this.counts.get(index) ?? 0) + 1);
    this.total++;
    if (value > this.max) this.max = value;
  }

  add(snapshot: HistogramSnapshot): void {
    for (const [index, count] of snapshot.buckets) this.counts.set(index, (this.counts.get(index) ?? 0) + count);
    this.total += snapshot.count;
    this.max = Math.max(this.max, snapshot.maxMicros);
  }

  /** The value at `quantile` (0..1), in microseconds, as the middle of its bucket. */
  percentileMicros(quantile: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(quantile * this.total));
    let seen = 0;
    for (const index of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(index)!;
      if (seen >= rank) return Math.min(this.max, bucketMiddle(index));
    }
    return this.max;
  }

  snapshot(): HistogramSnapshot {
    return { buckets: [...this.counts.entries()], count: this.total, maxMicros: this.max };
  }

  summary(): LatencySummary | null {
    if (this.total === 0) return null;
    const ms = (micros: number): number => Math.round(micros) / 1000;
    return {
      count: this.total,
      p50Ms: ms(this.percentileMicros(0.5)),
      p95Ms: ms(this.percentileMicros(0.95)),
      p99Ms: ms(this.percentileMicros(0.99)),
      maxMs: ms(this.max),
    };
  }

  reset(): void {
    this.counts.clear();
    this.total = 0;
    this.max = 0;
  }
}

function bucketIndex(value: number): number {
  if (value < LINEAR_LIMIT) return value;
  const shift = 31 - Math.clz32(value) - 6;
  return LINEAR_LIMIT + (shift - 1) * SUB_BUCKETS + ((value >>> shift) - SUB_BUCKETS);
}

function bucketMiddle(index: number): number {
  if (index < LINEAR_LIMIT) return index;
  const offset = index - LINEAR_LIMIT;
  const shift = Math.floor(offset / SUB_BUCKETS) + 1;
  const low = (SUB_BUCKETS + (offset % SUB_BUCKETS)) * 2 ** shift;
  return low + (2 ** shift - 1) / 2;
}
