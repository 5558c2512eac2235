import { DEFAULT_RETENTION, type Backend, type Retention } from '../ports.js';
import { MemoryBus, MemoryBusHub } from './memory-bus.js';
import { MemoryPresenceRegistry, MemoryPresenceStore, type LeaseSettings } from './memory-presence-store.js';

/**
 * What the nodes of one in-process cluster share: one per process in
 * production (a single node), several nodes in tests.
 */
export interface MemoryCluster {
  readonly registry: MemoryPresenceRegistry;
  readonly hub: MemoryBusHub;
}

export function createMemoryCluster(retention: Retention = DEFAULT_RETENTION): MemoryCluster {
  return { registry: new MemoryPresenceRegistry(), hub: new MemoryBusHub(undefined, retention) };
}

/**
 * One node's backend in a memory cluster. The bus routes a private message
 * by the registry's user -> node map directly: both halves of this backend
 * share it, as both halves of the Redis backend share Redis's.
 */
export function createMemoryBackend(nodeId: string, settings: LeaseSettings, cluster: MemoryCluster): Backend {
  return {
    presence: new MemoryPresenceStore(nodeId, settings, cluster.registry),
    bus: new MemoryBus(
      nodeId,
      cluster.hub,
      (name) => cluster.registry.nodeOf(name),
      (name) => cluster.registry.userLogKey(name),
    ),
    notReadyReasons: () => [],
    connected: Promise.resolve(),
    onRecovered: () => undefined,
    close: async () => undefined,
  };
}
