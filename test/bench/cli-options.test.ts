import { describe, expect, it } from 'vitest';
import { parseCliOptions } from '../../bench/cli-options.js';

const SCENARIOS = ['idle', 'storm', 'broadcast', 'private', 'mixed'] as const;
const parse = (...argv: string[]) => parseCliOptions(argv, SCENARIOS);

describe('npm run bench --redis', () => {
  it('runs the Redis deployments on one Redis unless told otherwise', () => {
    expect(parse('--backend', 'memory,redis-2').backends).toEqual(['memory', 'redis-2']);
  });

  it('runs each Redis deployment on one Redis and then on a cluster, in one run', () => {
    const options = parse('--backend', 'memory,redis-2,redis-3', '--redis', 'single,cluster', '--masters', '4');
    expect(options.backends).toEqual(['memory', 'redis-2', 'redis-2-cluster', 'redis-3', 'redis-3-cluster']);
    expect(options.clusterMasters).toBe(4);
  });

  it('runs them on a cluster only, leaving deployments that have no cluster twin as they are', () => {
    expect(parse('--backend', 'redis,redis-2-replica', '--redis', 'cluster').backends).toEqual(['redis-cluster', 'redis-2-replica']);
  });

  it('refuses a kind of Redis it does not know, and a cluster of fewer than three masters', () => {
    expect(() => parse('--redis', 'sentinel')).toThrow(/--redis takes single and cluster, not sentinel/);
    expect(() => parse('--masters', '2')).toThrow(/--masters must be a whole number of at least 3/);
  });
});
