/** The deployments the benchmark can start and measure by itself. */
export const BACKENDS = {
  memory: { label: 'memory, 1 node', nodes: 1, redis: false, baseline: false },
  redis: { label: 'redis, 1 node', nodes: 1, redis: true, baseline: false },
  'redis-3': { label: 'redis, 3 nodes', nodes: 3, redis: true, baseline: false },
  baseline: { label: 'bare uWS, 1 node', nodes: 1, redis: false, baseline: true },
} as const;

export type BackendId = keyof typeof BACKENDS | 'external';

export const STARTABLE_BACKENDS = Object.keys(BACKENDS) as (keyof typeof BACKENDS)[];

export function isStartableBackend(id: string): id is keyof typeof BACKENDS {
  return id in BACKENDS;
}
