import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../bench/load/latency-histogram.js';

describe('LatencyHistogram', () => {
  it('is exact below 128 µs and within 2 % above', () => {
    const histogram = new LatencyHistogram();
    for (let micros = 1; micros <= 100; micros++) histogram.record(micros);
    expect(histogram.percentileMicros(0.5)).toBe(50);
    expect(histogram.percentileMicros(0.99)).toBe(99);
    const wide = new LatencyHistogram();
    for (const micros of [150, 1000, 12_345, 987_654]) {
      wide.reset();
      wide.record(micros);
      expect(Math.abs(wide.percentileMicros(0.5) - micros) / micros).toBeLessThan(0.02);
    }
  });

  it('keeps the exact maximum and merges snapshots from several processes', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let i = 0; i < 90; i++) a.record(1000);
    for (let i = 0; i < 10; i++) b.record(50_001);
    const merged = LatencyHistogram.from([a.snapshot(), b.snapshot()]);
    expect(merged.count).toBe(100);
    expect(merged.summary()).toMatchObject({ count: 100, maxMs: 50.001 });
    expect(merged.percentileMicros(0.9)).toBeCloseTo(1000, -1);
    expect(merged.percentileMicros(0.95)).toBeGreaterThan(49_000);
  });

  it('has no summary when nothing was recorded', () => {
    expect(new LatencyHistogram().summary()).toBeNull();
  });
});
