import type { RedisClient } from './connection.js';
import type { Logger } from 'pino';

/**
 * A probe unanswered this long means the connection hangs. Probes go out
 * every quarter of it, so a hang is found at most 1.5 × this after it
 * began (a probe sent just after, then the check that finds it overdue):
 * within the 2 s in which every command waiting on it must fail.
 */
export const HUNG_AFTER_MS = 1000;

/**
 * Replaces a connection that stays open but answers nothing (a network
 * partition, a stuck NAT: no FIN, no RST). Without it every command would
 * be written into the void and wait out its own timeout; replaced, the
 * connection refuses new commands at once while it reconnects, and comes
 * back (ready again, which starts a heartbeat) as soon as Redis can be
 * reached. Only for connections that never block (not the subscriber, not
 * the inbox reader, which have their own checks).
 */
export function detectHangs(redis: RedisClient, name: string, logger: Logger): () => void {
  let probeSentAt: number | undefined;
  const probe = (): void => {
    if (redis.status !== 'ready') {
      probeSentAt = undefined;
      return;
    }
    if (probeSentAt === undefined) {
      const sentAt = Date.now();
      probeSentAt = sentAt;
      redis.ping().then(
        () => {
          if (probeSentAt === sentAt) probeSentAt = undefined;
        },
        () => undefined,
      );
      return;
    }
    if (Date.now() - probeSentAt < HUNG_AFTER_MS) return;
    // A blocked event loop runs timers before it reads sockets: let a reply already there arrive first.
    const overdue = probeSentAt;
    setImmediate(() => {
      if (probeSentAt !== overdue || redis.status !== 'ready') return;
      probeSentAt = undefined;
      logger.warn({ redis: name, waitedMs: Date.now() - overdue }, 'redis connection answers nothing; replacing it');
      redis.disconnect(true);
    });
  };
  // A few probes a second, each one PING in a pipeline that is there anyway.
  const timer = setInterval(probe, HUNG_AFTER_MS / 4);
  timer.unref();
  return () => clearInterval(timer);
}
