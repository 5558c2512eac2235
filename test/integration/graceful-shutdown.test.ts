import { afterEach, describe, expect, inject, it } from 'vitest';
import { uniquePrefix } from '../support/redis-server.js';
import { startChildNode, stopAll, type ChildNode } from '../support/nodes.js';
import { TestClient } from '../support/test-client.js';

describe('graceful shutdown on SIGTERM', () => {
  const nodes: ChildNode[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.terminate()));
    await stopAll(nodes.splice(0));
  });

  it('closes clients with 1001, announces each departure once to the rest of the cluster, and exits 0', async () => {
    const env = { REDIS_URL: inject('redisUrl'), CHARLA_KEY_PREFIX: uniquePrefix('drain'), CHARLA_SHUTDOWN_GRACE_MS: '5000' };
    nodes.push(await startChildNode({ ...env, CHARLA_NODE_ID: 'stays' }), await startChildNode({ ...env, CHARLA_NODE_ID: 'leaves' }));
    const [stays, leaves] = nodes as [ChildNode, ChildNode];
    const watcher = await TestClient.register(stays.url, 'watcher');
    const leaving = await Promise.all(['ana', 'luis', 'eva'].map((name) => TestClient.register(leaves.url, name)));
    const anonymous = await TestClient.connect(leaves.url);
    clients.push(watcher, ...leaving, anonymous);
    await new Promise((r) => setTimeout(r, 200));
    watcher.discardPending();

    const signalledAt = Date.now();
    leaves.process.kill('SIGTERM');
    for (const client of [...leaving, anonymous]) {
      const close = await client.closed;
      expect(close.code).toBe(1001);
      expect(close.reason).toMatch(/reconecta|conectar/i);
    }
    const exitCode = await leaves.exited;
    const tookMs = Date.now() - signalledAt;
    expect(exitCode).toBe(0);
    process.stdout.write(`graceful shutdown: exited 0 after ${tookMs} ms\n`);

    const notices = [];
    for (let i = 0; i < 3; i++) notices.push(String((await watcher.next('user_disconnected')).content));
    expect(notices.sort()).toEqual(['ana ha salido', 'eva ha salido', 'luis ha salido']);
    // Once each: the reaper must not announce them again after the lease runs out.
    await new Promise((r) => setTimeout(r, 1500));
    expect(watcher.pending('user_disconnected')).toEqual([]);
    watcher.send({ type: 'list_users' });
    expect((await watcher.next('list_users_response')).content).toEqual(['watcher']);
    expect(leaves.logs.join('\n')).toMatch(/shutting down/);
    await expect(fetch(`http://127.0.0.1:${leaves.port}/healthz`)).rejects.toThrow();
  });
});
