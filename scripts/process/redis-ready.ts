import { Redis } from 'ioredis';

/** Resolves once the Redis at `url` answers PING; fails after `timeoutMs`. */
export async function waitUntilAnswering(url: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      probe.disconnect();
    }
  }
}

/** Resolves once the replica at `url` reports its link to the master up (a full sync done); fails after `timeoutMs`. */
export async function waitUntilReplicaInSync(url: string, timeoutMs = 30_000): Promise<void> {
  const replica = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  replica.on('error', () => undefined);
  const deadline = Date.now() + timeoutMs;
  try {
    await replica.connect();
    while (!/master_link_status:up/.test(await replica.info('replication'))) {
      if (Date.now() > deadline) throw new Error(`the replica at ${url} did not come in sync with its master`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    replica.disconnect();
  }
}
