/** The deployments the benchmark can start and measure by itself. */
export const BACKENDS = {
  memory: { label: 'memory, 1 node', nodes: 1, redis: false, baseline: false, byDefault: true },
  redis: { label: 'redis, 1 node', nodes: 1, redis: true, baseline: false, byDefault: true },
  'redis-2': { label: 'redis, 2 nodes', nodes: 2, redis: true, baseline: false, byDefault: false },
  'redis-3': { label: 'redis, 3 nodes', nodes: 3, redis: true, baseline: false, byDefault: true },
  // The same deployments on a Redis Cluster (--redis cluster, --masters N).
  'redis-cluster': { label: 'redis cluster, 1 node', nodes: 1, redis: true, cluster: true, baseline: false, byDefault: false },
  'redis-2-cluster': { label: 'redis cluster, 2 nodes', nodes: 2, redis: true, cluster: true, baseline: false, byDefault: false },
  'redis-3-cluster': { label: 'redis cluster, 3 nodes', nodes: 3, redis: true, cluster: true, baseline: false, byDefault: false },
  // A cluster whose masters have a replica each: answered on the master's word, or once the replica of its master holds each message.
  'redis-2-cluster-replica': { label: 'redis cluster + replicas, 2 nodes', nodes: 2, redis: true, cluster: true, replica: true, baseline: false, byDefault: false },
  'redis-2-cluster-replica-wait': {
    label: 'redis cluster + replicas, WAIT 1, 2 nodes',
    nodes: 2,
    redis: true,
    cluster: true,
    replica: true,
    env: { CHARLA_REDIS_WAIT_REPLICAS: '1' },
    baseline: false,
    byDefault: false,
  },
  // A Redis with a replica, as under Sentinel: answered on the master's word, or once the replica holds each message.
  'redis-2-replica': { label: 'redis + replica, 2 nodes', nodes: 2, redis: true, replica: true, baseline: false, byDefault: false },
  'redis-2-replica-wait': {
    label: 'redis + replica, WAIT 1, 2 nodes',
    nodes: 2,
    redis: true,
    replica: true,
    env: { CHARLA_REDIS_WAIT_REPLICAS: '1' },
    baseline: false,
    byDefault: false,
  },
  baseline: { label: 'bare uWS, 1 node', nodes: 1, redis: false, baseline: true, byDefault: false },
} as const satisfies Record<string, BackendSpec>;

export type BackendId = keyof typeof BACKENDS | 'external';

export interface BackendSpec {
  readonly label: string;
  readonly nodes: number;
  readonly redis: boolean;
  /** A replica of the Redis (of each master, on a cluster), in sync before the nodes start. */
  readonly replica?: boolean;
  /** A Redis Cluster of masters instead of one Redis. */
  readonly cluster?: boolean;
  /** Settings of the nodes beyond the benchmark's own. */
  readonly env?: Readonly<Record<string, string>>;
  readonly baseline: boolean;
  readonly byDefault: boolean;
}

export const STARTABLE_BACKENDS = Object.keys(BACKENDS) as (keyof typeof BACKENDS)[];

/** What runs when no backend is named. */
export const DEFAULT_BACKENDS = STARTABLE_BACKENDS.filter((backend) => BACKENDS[backend].byDefault);

export function isStartableBackend(id: string): id is keyof typeof BACKENDS {
  return id in BACKENDS;
}

/** Each one-Redis deployment's twin on a Redis Cluster. */
export const ON_CLUSTER: Partial<Record<keyof typeof BACKENDS, keyof typeof BACKENDS>> = {
  redis: 'redis-cluster',
  'redis-2': 'redis-2-cluster',
  'redis-3': 'redis-3-cluster',
};

/**
 * The backends to run for `--redis`: each one-Redis deployment on one Redis
 * (single), on a cluster (cluster), or both, one after the other.
 */
export function onRedisKinds(backends: readonly (keyof typeof BACKENDS)[], kinds: readonly ('single' | 'cluster')[]): (keyof typeof BACKENDS)[] {
  return backends.flatMap((backend) => {
    const twin = ON_CLUSTER[backend];
    if (!twin) return [backend];
    return [...(kinds.includes('single') ? [backend] : []), ...(kinds.includes('cluster') ? [twin] : [])];
  });
}
