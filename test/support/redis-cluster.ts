import { Cluster } from 'ioredis';
import { startedForThisFile } from './for-this-file.js';
import { startClusterSetup, type ClusterSetup, type ClusterSetupOptions } from '../../scripts/process/redis-cluster-setup.js';

export { startClusterSetup, type ClusterAddress, type ClusterSetup } from '../../scripts/process/redis-cluster-setup.js';

/** A Redis Cluster for the tests of one file. Suites that kill no server can do without replicas: half the processes on a busy machine. */
export function clusterForThisFile(options?: ClusterSetupOptions): () => ClusterSetup {
  return startedForThisFile('the Redis Cluster', () => startClusterSetup(options));
}

/** A client of the cluster with ioredis's defaults, as the tests' other Redis clients. */
export function clusterClient(setup: ClusterSetup): Cluster {
  return new Cluster(setup.nodes.map(({ host, port }) => ({ host, port })));
}
