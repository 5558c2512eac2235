import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { serverAddress } from './connection.js';

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
export function detectHangs(redis: Redis, name: string, logger: Logger): () => void {
  const probe = hangProbe(redis, (waitedMs) => {
    logger.warn({ redis: name, waitedMs }, 'redis connection answers nothing; replacing it');
    redis.disconnect(true);
  });
  return every(probe);
}

/**
 * The same for a Redis Cluster, one master at a time: the cluster client
 * holds a connection per master, and a master that stops answering (cut
 * off from this node alone, so the cluster sees nothing to fail over)
 * would leave every command sent to it waiting out its timeout, and the
 * connection kept. Only that connection is closed: the client opens
 * another to the master serving the slot at the next command for it.
 * Replacing the whole client instead tore down its connections to every
 * server while one master failed over.
 */
export function detectClusterHangs(cluster: Cluster, name: string, logger: Logger): () => void {
  const probes = new Map<Redis, () => void>();
  return every(() => {
    const masters = cluster.nodes('master');
    for (const connection of probes.keys()) if (!masters.includes(connection)) probes.delete(connection);
    for (const connection of masters) {
      let probe = probes.get(connection);
      if (!probe) {
        probe = hangProbe(connection, (waitedMs) => {
          logger.warn({ redis: name, server: serverAddress(connection), waitedMs }, 'a redis cluster master answers nothing; closing the connection to it');
          probes.delete(connection);
          connection.disconnect();
        });
        probes.set(connection, probe);
      }
      probe();
    }
  });
}

/** A probe to run every quarter of HUNG_AFTER_MS: PINGs `redis`, and calls `hung` when a PING stays unanswered past it. */
function hangProbe(redis: Redis, hung: (waitedMs: number) => void): () => void {
  let probeSentAt: number | undefined;
  return () => {
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
      hung(Date.now() - overdue);
    });
  };
}

/** Runs `probe` a few times a second, each one PING in a pipeline that is there anyway; → stops it. */
function every(probe: () => void): () => void {
  const timer = setInterval(probe, HUNG_AFTER_MS / 4);
  timer.unref();
  return () => clearInterval(timer);
}
