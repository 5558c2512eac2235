import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { toBackendError } from '../redis/backend-error.js';
import type { RedisKeys } from '../redis/keys.js';
import type { Bus, EnvelopeHandler } from './bus.js';
import { decodeEnvelope, encodeEnvelope, type DirectEnvelope, type RoomEnvelope } from './envelope.js';

/**
 * Fan-out over Redis pub/sub: one channel for the whole room and one per
 * node. A node subscribes to the room channel and its own, so a private
 * message costs one delivery in the cluster whatever its size.
 */
export class RedisBus implements Bus {
  private handler: EnvelopeHandler | undefined;
  private rejected = 0;

  constructor(
    readonly nodeId: string,
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly keys: RedisKeys,
    private readonly logger: Logger,
  ) {}

  /** Envelopes refused because they did not validate. */
  get rejectedCount(): number {
    return this.rejected;
  }

  async subscribe(handler: EnvelopeHandler): Promise<void> {
    this.handler = handler;
    this.subscriber.on('message', this.onMessage);
    try {
      await this.subscriber.subscribe(this.keys.roomChannel, this.keys.nodeChannel(this.nodeId));
    } catch (err) {
      throw toBackendError(err);
    }
  }

  async publishToAll(envelope: RoomEnvelope): Promise<void> {
    await this.publish(this.keys.roomChannel, encodeEnvelope(envelope));
  }

  async publishToNode(nodeId: string, envelope: DirectEnvelope): Promise<void> {
    await this.publish(this.keys.nodeChannel(nodeId), encodeEnvelope(envelope));
  }

  async unsubscribe(): Promise<void> {
    this.subscriber.off('message', this.onMessage);
    this.handler = undefined;
    if (this.subscriber.status === 'ready') {
      await this.subscriber.unsubscribe().catch((err: unknown) => this.logger.warn({ err }, 'unsubscribe failed'));
    }
  }

  private async publish(channel: string, payload: string): Promise<void> {
    try {
      await this.publisher.publish(channel, payload);
    } catch (err) {
      throw toBackendError(err);
    }
  }

  private readonly onMessage = (channel: string, payload: string): void => {
    const envelope = decodeEnvelope(payload);
    if (!envelope) {
      this.rejected++;
      this.logger.warn({ channel, bytes: payload.length }, 'dropped an invalid envelope from the bus');
      return;
    }
    this.handler?.(envelope);
  };
}
