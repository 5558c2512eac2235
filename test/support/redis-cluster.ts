import { Cluster } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { startClusterSetup, type ClusterSetup, type ClusterSetupOptions } from '../../scripts/process/redis-cluster-setup.js';

export { startClusterSetup, type ClusterAddress, type ClusterSetup } from '../../scripts/process/redis-cluster-setup.js';

/**
 * A Redis Cluster for the tests of one file: started before them, stopped
 * after. The getter is for use inside tests and hooks. Suites that kill no
 * server can do without replicas: half the processes on a busy machine.
 */
export function clusterForThisFile(options?: ClusterSetupOptions): () => ClusterSetup {
  let setup: ClusterSetup | undefined;
  beforeAll(async () => {
    setup = await startClusterSetup(options);
  }, 60_000);
  afterAll(async () => {
    await setup?.stop();
  });
  return () => {
    if (!setup) throw new Error('the Redis Cluster has not started');
    return setup;
  };
}

/** A client of the cluster with ioredis's defaults, as the tests' other Redis clients. */
export function clusterClient(setup: ClusterSetup): Cluster {
  return new Cluster(setup.nodes.map(({ host, port }) => ({ host, port })));
}
