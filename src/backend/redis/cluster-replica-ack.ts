import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Metrics } from '../../metrics.js';
import { BackendOutcomeUnknownError } from '../ports.js';
import { keySlot } from './key-slot.js';
import { serverAddress } from './connection.js';
import { ReplicaAck, type ReplicaAckSettings, type ReplicaConfirmation } from './replica-ack.js';

/**
 * ReplicaAck on a Redis Cluster. `WAIT` covers the writes of the
 * connection it is sent on, and a cluster client holds one connection per
 * master: a keyless `WAIT` sent through the client would reach any of
 * them. Each write is confirmed instead on the connection to the master
 * serving its key's slot, the one that carried it, by a ReplicaAck of its
 * own (one `WAIT` at a time per master, covering all answered before).
 *
 * A write redirected (MOVED, ASK) to another master than the slot map
 * named is confirmed on the first: a master that lost the slot to a
 * failover is a replica now and refuses `WAIT` (outcome unknown); one
 * that handed it over in a resharding confirms nothing of the write.
 */
export class ClusterReplicaAck implements ReplicaConfirmation {
  private readonly byMaster = new Map<Redis, ReplicaAck>();

  constructor(
    private readonly cluster: Cluster,
    private readonly settings: ReplicaAckSettings,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  confirm(messages: number, key: string): Promise<void> {
    if (this.settings.replicas === 0) return Promise.resolve();
    const master = this.masterOf(key);
    if (!master) return Promise.reject(new BackendOutcomeUnknownError(new Error(`no master known for the slot of ${key}`)));
    let ack = this.byMaster.get(master);
    if (!ack) {
      this.forgetGoneMasters();
      this.byMaster.set(master, (ack = new ReplicaAck(master, this.settings, this.metrics, this.logger)));
    }
    return ack.confirm(messages);
  }

  stop(): void {
    for (const ack of this.byMaster.values()) ack.stop();
  }

  /** The cluster client's connection to the master serving `key`'s slot, as its slot map has it. */
  private masterOf(key: string): Redis | undefined {
    const address = this.cluster.slots[keySlot(key)]?.[0];
    if (address === undefined) return undefined;
    return this.cluster.nodes('master').find((connection) => serverAddress(connection) === address);
  }

  /** Connections the client closed (a master gone, or no longer one) take their ReplicaAck along. */
  private forgetGoneMasters(): void {
    const masters = new Set(this.cluster.nodes('master'));
    for (const [connection, ack] of this.byMaster) {
      if (masters.has(connection)) continue;
      ack.stop();
      this.byMaster.delete(connection);
    }
  }
}
