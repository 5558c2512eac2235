import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ChatClient, ChatClientError } from '../../src/client/index.js';
import { RedisKeys } from '../../src/backend/redis/keys.js';
import { roomViolations, trafficThrough } from '../support/failover-traffic.js';
import { startClusterSetup, type ClusterSetup } from '../support/redis-cluster.js';
import { uniquePrefix } from '../support/redis-server.js';
import { startInProcessNode } from '../support/nodes.js';
import { TestClient } from '../support/test-client.js';
import { waitUntil } from '../support/wait.js';

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Charla on a Redis Cluster', () => {
  // Each test kills a master: each gets a cluster of its own, with a replica per master to promote.
  let setup: ClusterSetup | undefined;
  const nodes: Node[] = [];
  const clients: TestClient[] = [];
  beforeEach(async () => {
    setup = await startClusterSetup({ masters: 3, replicasPerMaster: 1 });
  }, 60_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.terminate()));
    await Promise.all(nodes.splice(0).map((node) => node.stop()));
    await setup?.stop();
  });

  it('delivers every private and room message of a failover inside the cluster once or tells its sender, and carries traffic again', async () => {
    const prefix = uniquePrefix('cluster-failover');
    const env = { ...setup!.env, CHARLA_KEY_PREFIX: prefix, CHARLA_RATE_LIMIT_PER_SECOND: '0', LOG_LEVEL: 'error' };
    nodes.push(await startInProcessNode({ ...env, CHARLA_NODE_ID: 'c1' }), await startInProcessNode({ ...env, CHARLA_NODE_ID: 'c2' }));
    // The deployment's keys share one slot: its master is the one to kill.
    const slotKey = `{${prefix}}`;
    let killedAt = 0;
    let wholeAt = 0;
    const traffic = await trafficThrough(
      [nodes[0]!, nodes[1]!],
      async () => {
        await sleep(1000);
        const masterBefore = await setup!.masterOf(slotKey);
        killedAt = Date.now();
        await setup!.killMasterOf(slotKey);
        await setup!.untilWhole();
        expect(await setup!.masterOf(slotKey)).not.toBe(masterBefore);
        wholeAt = Date.now();
        await sleep(6000);
      },
      clients,
    );
    const { toBea, toAna } = traffic;
    process.stdout.write(`redis cluster: ${toBea.summary()}\nredis cluster: ${toAna.summary()}\n`);
    expect([...toBea.violations(), ...toAna.violations()]).toEqual([]);
    // Traffic flows both ways again within 5 s of the replica taking over.
    for (const ledger of [toBea, toAna]) expect(ledger.undeliveredSentSince(wholeAt + 5000)).toEqual([]);
    process.stdout.write(`redis cluster: replica took over ${wholeAt - killedAt} ms after the kill\n`);
    expect(roomViolations(traffic)).toEqual({ lost: [], twice: 0, outOfOrder: false });
    expect(traffic.departuresSeen).toEqual([]);
  }, 60_000);

  it('delivers every private message once or tells its sender when the master of an inbox stripe fails over, and carries traffic again', async () => {
    // A prefix whose presence keys lie on another master than the stripe of d2's inbox that bea's messages go through: one of three is not.
    let prefix: string;
    let stripe: string;
    do {
      prefix = uniquePrefix('cluster-stripe');
      const keys = RedisKeys.forCluster(prefix);
      stripe = keys.inboxStripe('d2', keys.stripeOf('bea'));
    } while ((await setup!.masterOf(stripe)) === (await setup!.masterOf(`{${prefix}}`)));
    const env = { ...setup!.env, CHARLA_KEY_PREFIX: prefix, CHARLA_RATE_LIMIT_PER_SECOND: '0', LOG_LEVEL: 'error' };
    nodes.push(await startInProcessNode({ ...env, CHARLA_NODE_ID: 'd1' }), await startInProcessNode({ ...env, CHARLA_NODE_ID: 'd2' }));
    let wholeAt = 0;
    const traffic = await trafficThrough(
      [nodes[0]!, nodes[1]!],
      async () => {
        await sleep(1000);
        await setup!.killMasterOf(stripe);
        await setup!.untilWhole();
        wholeAt = Date.now();
        await sleep(6000);
      },
      clients,
    );
    const { toBea, toAna } = traffic;
    process.stdout.write(`redis cluster, stripe master killed: ${toBea.summary()}\n`);
    expect([...toBea.violations(), ...toAna.violations()]).toEqual([]);
    for (const ledger of [toBea, toAna]) expect(ledger.undeliveredSentSince(wholeAt + 5000)).toEqual([]);
    expect(roomViolations(traffic)).toEqual({ lost: [], twice: 0, outOfOrder: false });
    // The room lives with the presence keys, on a master that stayed up: it goes on as if nothing happened.
    expect(traffic.roomAnswers.filter((answer) => answer !== 'ok')).toEqual([]);
    expect(traffic.departuresSeen).toEqual([]);
  }, 60_000);

  it('moves a node whose subscription server dies to another server, and its users miss no room message', async () => {
    const env = { ...setup!.env, CHARLA_KEY_PREFIX: uniquePrefix('cluster-subscriber'), CHARLA_RATE_LIMIT_PER_SECOND: '0', LOG_LEVEL: 'error' };
    nodes.push(await startInProcessNode({ ...env, CHARLA_NODE_ID: 's1' }), await startInProcessNode({ ...env, CHARLA_NODE_ID: 's2' }));
    const ana = await TestClient.register(nodes[0]!.url, 'ana');
    const bea = new ChatClient({ url: nodes[1]!.url, WebSocket, requestTimeoutMs: 60_000, reconnect: false, resume: false });
    clients.push(ana);
    await bea.connect();
    await bea.register('bea');
    const answers: (string | undefined)[] = [];
    let sent = 0;
    const tick = setInterval(() => {
      const n = sent++;
      bea.broadcast(String(n)).then(
        () => (answers[n] = 'ok'),
        (err: unknown) => (answers[n] = err instanceof ChatClientError ? err.code : String(err)),
      );
    }, 100);
    try {
      await sleep(500);
      const server = await setup!.serverOf('charla:s1:subscriber');
      await setup!.kill(server);
      await setup!.untilWhole();
      await sleep(3000);
    } finally {
      clearInterval(tick);
    }
    await waitUntil(() => answers.filter(Boolean).length === sent, 'every broadcast has its answer', 30_000);
    await sleep(1500);
    const heard = ana.received.flatMap((frame) => (frame.type === 'broadcast' && frame.sender === 'bea' ? [Number(frame.content)] : []));
    const confirmed = answers.flatMap((answer, n) => (answer === 'ok' ? [n] : []));
    expect(confirmed.length).toBeGreaterThan(30);
    expect(confirmed.filter((n) => !heard.includes(n))).toEqual([]);
    expect(new Set(heard).size).toBe(heard.length);
    expect([...heard].sort((a, b) => a - b)).toEqual(heard);
    await bea.disconnect();
  }, 60_000);
});
