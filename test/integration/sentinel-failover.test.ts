import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { roomViolations, trafficThrough } from '../support/failover-traffic.js';
import { waitUntil } from '../support/wait.js';
import { uniquePrefix } from '../support/redis-server.js';
import { startSentinelSetup, type SentinelSetup } from '../support/redis-sentinel.js';
import { startInProcessNode } from '../support/nodes.js';
import { TestClient } from '../support/test-client.js';

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Charla on a Redis with Sentinel', () => {
  // Each test kills a master: each gets a setup of its own, with a replica to promote.
  let setup: SentinelSetup | undefined;
  const sentinel = (): SentinelSetup => setup!;
  const nodes: Node[] = [];
  const clients: TestClient[] = [];
  beforeEach(async () => {
    setup = await startSentinelSetup();
  }, 60_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.terminate()));
    await Promise.all(nodes.splice(0).map((node) => node.stop()));
    await setup?.stop();
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

  it('delivers every private message of a failover once or tells its sender, and brings traffic back within 5 s', async () => {
    const env = { ...sentinel().env, CHARLA_KEY_PREFIX: uniquePrefix('sentinel'), CHARLA_RATE_LIMIT_PER_SECOND: '0', LOG_LEVEL: 'error' };
    nodes.push(await startInProcessNode({ ...env, CHARLA_NODE_ID: 'f1' }), await startInProcessNode({ ...env, CHARLA_NODE_ID: 'f2' }));
    let killedAt = 0;
    let promotedAt = 0;
    const traffic = await trafficThrough(
      [nodes[0]!, nodes[1]!],
      async () => {
        await sleep(1000);
        const masterBefore = await sentinel().masterPort();
        killedAt = Date.now();
        await sentinel().killMaster();
        // Sentinel's own part: a second to call the master down, then an election (tried again if the vote split).
        await waitUntil(async () => (await sentinel().masterPort()) !== masterBefore, 'the replica promoted', 15_000, 100);
        promotedAt = Date.now();
        await sleep(6000);
      },
      clients,
    );
    const { toBea, toAna } = traffic;
    process.stdout.write(`sentinel: ${toBea.summary()}\nsentinel: ${toAna.summary()}\n`);
    expect([...toBea.violations(), ...toAna.violations()]).toEqual([]);
    // Traffic flows both ways within 5 s of the kill (of the promotion, when the sentinels' vote had to be taken again).
    const backBy = Math.max(killedAt + 5000, promotedAt + 2000);
    for (const ledger of [toBea, toAna]) expect(ledger.undeliveredSentSince(backBy)).toEqual([]);
    process.stdout.write(`sentinel: replica promoted ${promotedAt - killedAt} ms after the kill\n`);
    // Back: the first message delivered after the last one refused.
    const back = [toBea, toAna].map((ledger) => {
      const lastRefused = Math.max(...ledger.outcomes.filter((o) => o.error !== undefined).map((o) => o.sentAt));
      return ledger.firstDeliveryAfter(lastRefused + 1);
    });
    process.stdout.write(`sentinel: private messages delivered again ${back.join(' / ')} ms after the last refused one\n`);
    // Room messages: each heard once, in order, or its sender told.
    expect(roomViolations(traffic)).toEqual({ lost: [], twice: 0, outOfOrder: false });
    expect(traffic.departuresSeen).toEqual([]);
  }, 60_000);

  it('leaves no name with two owners and no ghost when registrations are in flight during a failover', async () => {
    const env = { ...sentinel().env, CHARLA_KEY_PREFIX: uniquePrefix('sentinel'), LOG_LEVEL: 'error', CHARLA_MAX_CONNECTIONS_PER_IP: '0', CHARLA_RATE_LIMIT_PER_IP_PER_SECOND: '0' };
    nodes.push(await startInProcessNode({ ...env, CHARLA_NODE_ID: 'r1' }), await startInProcessNode({ ...env, CHARLA_NODE_ID: 'r2' }));
    const ready = (node: Node) => fetch(`http://127.0.0.1:${node.port}/readyz`).then((r) => r.ok, () => false);
    // Two clients race for each name, one on each node, while the master dies under them.
    const attempts = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const client = await TestClient.connect(nodes[i % 2]!.url);
        clients.push(client);
        return { client, name: `n${Math.floor(i / 2)}` };
      }),
    );
    const killing = sentinel().killMaster();
    for (const [i, { client, name }] of attempts.entries()) {
      client.send({ type: 'register', sender: name });
      if (i % 4 === 3) await sleep(100);
    }
    await killing;
    expect(await ready(nodes[0]!)).toBe(false);
    // Whoever was refused tries again, once, until the failover is over.
    const outcome = await Promise.all(
      attempts.map(async ({ client, name }) => {
        for (;;) {
          const frame = await client.nextMatching((f) => f.type === 'register_success' || f.type === 'error', 'an answer', 15_000);
          if (frame.type === 'register_success') return name;
          if (frame.code === 'USERNAME_TAKEN') return undefined;
          await sleep(200);
          client.send({ type: 'register', sender: name });
        }
      }),
    );
    await waitUntil(async () => (await ready(nodes[0]!)) && (await ready(nodes[1]!)), 'both nodes ready again', 15_000);
    const registered = outcome.filter((name): name is string => name !== undefined).sort();
    // One owner per name, and the cluster lists exactly them: nobody twice, no ghost.
    expect(new Set(registered).size).toBe(registered.length);
    await sleep(3000);
    const observer = await TestClient.register(nodes[1]!.url, 'observer');
    clients.push(observer);
    observer.send({ type: 'list_users' });
    expect((await observer.next('list_users_response')).content).toEqual([...registered, 'observer'].sort());
  }, 60_000);
});
