import { afterEach, describe, expect, it } from 'vitest';
import { uniquePrefix } from '../support/redis-server.js';
import { sentinelForThisFile } from '../support/redis-sentinel.js';
import { startInProcessNode } from '../support/nodes.js';
import { TestClient } from '../support/test-client.js';

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Charla on a Redis with Sentinel', () => {
  const sentinel = sentinelForThisFile();
  const nodes: Node[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.terminate()));
    await Promise.all(nodes.splice(0).map((node) => node.stop()));
  });

  it('carries traffic between two nodes again after the master is killed and a replica promoted', async () => {
    // Every command fails while no master answers, each with a warning.
    const env = { ...sentinel().env, CHARLA_KEY_PREFIX: uniquePrefix('sentinel'), CHARLA_RATE_LIMIT_PER_SECOND: '0', LOG_LEVEL: 'error' };
    nodes.push(await startInProcessNode({ ...env, CHARLA_NODE_ID: 's1' }), await startInProcessNode({ ...env, CHARLA_NODE_ID: 's2' }));
    const ana = await TestClient.register(nodes[0]!.url, 'ana');
    const luis = await TestClient.register(nodes[1]!.url, 'luis');
    clients.push(ana, luis);
    await ana.next('status_update');
    const masterBefore = await sentinel().masterPort();
    const killedAt = Date.now();
    await sentinel().killMaster();
    // Ask until a private message goes through again.
    let backAfter: number | undefined;
    for (let i = 0; backAfter === undefined && Date.now() - killedAt < 20_000; i++) {
      luis.send({ type: 'private', target: 'ana', content: `tras la caída ${i}` });
      const got = await ana.next('private', 250).catch(() => undefined);
      if (got) backAfter = Date.now() - killedAt;
      else await sleep(50);
    }
    expect(backAfter).toBeDefined();
    expect(await sentinel().masterPort()).not.toBe(masterBefore);
    ana.send({ type: 'broadcast', content: 'sigo aquí' });
    expect(await luis.next('broadcast')).toMatchObject({ sender: 'ana', content: 'sigo aquí' });
    // Nobody was taken for gone.
    await sleep(2000);
    for (const client of [ana, luis]) expect(client.received.filter((frame) => frame.type === 'user_disconnected')).toEqual([]);
    luis.send({ type: 'list_users' });
    expect((await luis.next('list_users_response')).content).toEqual(['ana', 'luis']);
    process.stdout.write(`sentinel: private messages flow again ${backAfter} ms after the master was killed\n`);
  }, 40_000);
});
