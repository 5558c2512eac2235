/** The deployments the benchmark can start and measure by itself. */
export const BACKENDS = {
  memory: { label: 'memory, 1 node', nodes: 1, redis: false, baseline: false, byDefault: true },
  redis: { label: 'redis, 1 node', nodes: 1, redis: true, baseline: false, byDefault: true },
  'redis-2': { label: 'redis, 2 nodes', nodes: 2, redis: true, baseline: false, byDefault: false },
  'redis-3': { label: 'redis, 3 nodes', nodes: 3, redis: true, baseline: false, byDefault: true },
  baseline: { label: 'bare uWS, 1 node', nodes: 1, redis: false, baseline: true, byDefault: false },
} as const;

export type BackendId = keyof typeof BACKENDS | 'external';

export const STARTABLE_BACKENDS = Object.keys(BACKENDS) as (keyof typeof BACKENDS)[];

/** What runs when no backend is named. */
export const DEFAULT_BACKENDS = STARTABLE_BACKENDS.filter((backend) => BACKENDS[backend].byDefault);

export function isStartableBackend(id: string): id is keyof typeof BACKENDS {
  return id in BACKENDS;
}
