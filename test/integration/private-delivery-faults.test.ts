import { afterEach, beforeEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ChatClient, ChatClientError } from '../../src/client/index.js';
import { provisionControllableRedis, uniquePrefix, type TestRedis } from '../support/redis-server.js';
import { startInProcessNode } from '../support/nodes.js';
import { TestClient } from '../support/test-client.js';
import { describeNeeding, TOOLS } from '../support/tools.js';
import { waitUntil } from '../support/wait.js';

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
const report = (line: string) => process.stdout.write(`private delivery: ${line}\n`);

/** What became of one private message: seen by its recipient, answered with an error to its sender, both, or neither. */
interface Outcome {
  delivered: boolean;
  /** How many times the recipient got it. */
  copies: number;
  error: string | undefined;
  settled: boolean;
}

describeNeeding([TOOLS.ownRedis], 'private messages while Redis stalls', () => {
  let redis: TestRedis;
  let nodes: Node[];
  let ana: ChatClient;
  let bob: TestClient;

  beforeEach(async () => {
    redis = await provisionControllableRedis();
    const env = { REDIS_URL: redis.url, CHARLA_KEY_PREFIX: uniquePrefix('stall'), CHARLA_RATE_LIMIT_PER_SECOND: '0' };
    nodes = [await startInProcessNode({ ...env, CHARLA_NODE_ID: 'stall-a' }), await startInProcessNode({ ...env, CHARLA_NODE_ID: 'stall-b' })];
    // No request timeout within the stall, no reconnection, no resumable session (the course clients' path): every message keeps its own outcome.
    ana = new ChatClient({ url: nodes[0]!.url, WebSocket, requestTimeoutMs: 60_000, reconnect: false, resume: false });
    await ana.connect();
    await ana.register('ana');
    bob = await TestClient.register(nodes[1]!.url, 'bob');
  });
  afterEach(async () => {
    await ana?.disconnect().catch(() => undefined);
    await bob?.terminate();
    await redis.start().catch(() => undefined);
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.remove();
  });

  /** Sends ana -> bob every `everyMs` for `totalMs` while Redis hangs for `stallMs` in the middle. */
  async function sendThroughStall(stallMs: number): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    const send = (): void => {
      const outcome: Outcome = { delivered: false, copies: 0, error: undefined, settled: false };
      const index = outcomes.push(outcome) - 1;
      ana.sendPrivate('bob', `m${index}`).then(
        () => (outcome.settled = true),
        (err: unknown) => {
          outcome.settled = true;
          outcome.error = err instanceof ChatClientError ? err.code : String(err);
        },
      );
    };
    /** Counts what bob got so far against the message it carries (`m<index>`). */
    const collect = (): void => {
      for (const frame of bob.pending('private')) {
        const outcome = outcomes[Number(String(frame.content).slice(1))];
        if (outcome) {
          outcome.delivered = true;
          outcome.copies++;
        }
      }
      bob.discardPending();
    };
    const collecting = setInterval(collect, 20);
    const tick = setInterval(send, 250);
    try {
      await new Promise((r) => setTimeout(r, 1000));
      await redis.pause();
      await new Promise((r) => setTimeout(r, stallMs));
      await redis.start();
      await new Promise((r) => setTimeout(r, 2000));
      clearInterval(tick);
      await waitUntil(() => outcomes.every((o) => o.settled), 'every message has its answer', 30_000);
      // Whatever Redis still held for bob has had time to arrive.
      await new Promise((r) => setTimeout(r, 2000));
    } finally {
      clearInterval(tick);
      clearInterval(collecting);
    }
    collect();
    return outcomes;
  }

  function summarise(stallMs: number, outcomes: Outcome[]): void {
    const count = (match: (o: Outcome) => boolean) => outcomes.filter(match).length;
    report(
      `${stallMs} ms stall, ${outcomes.length} sent: ${count((o) => o.delivered && !o.error)} delivered, ` +
        `${count((o) => !o.delivered && o.error === 'BACKEND_UNAVAILABLE')} not delivered (BACKEND_UNAVAILABLE), ` +
        `${count((o) => o.error === 'OUTCOME_UNKNOWN')} OUTCOME_UNKNOWN (${count((o) => o.error === 'OUTCOME_UNKNOWN' && o.delivered)} of them delivered), ` +
        `${count((o) => !o.delivered && !o.error)} lost silently; ` +
        outcomes.map((o, i) => `m${i}:${o.delivered ? 'D' : '-'}${o.error ? o.error[0] : ''}`).join(' '),
    );
  }

  for (const stallMs of [3000, 5000]) {
    it(`${stallMs / 1000} s: each message is delivered once, or its sender hears it was not, or that nobody can know`, async () => {
      const outcomes = await sendThroughStall(stallMs);
      summarise(stallMs, outcomes);
      for (const [index, outcome] of outcomes.entries()) {
        const what = `m${index}: ${JSON.stringify(outcome)}`;
        // Never silent: no delivery and no error.
        expect(outcome.delivered || outcome.error !== undefined, what).toBe(true);
        expect(outcome.copies, what).toBeLessThanOrEqual(1);
        // "Not delivered, send it again" must be true, or a retry duplicates.
        if (outcome.error === 'BACKEND_UNAVAILABLE') expect(outcome.delivered, what).toBe(false);
        // Bob never left: "no such user" would be a lie.
        if (outcome.error) expect(['BACKEND_UNAVAILABLE', 'OUTCOME_UNKNOWN'], what).toContain(outcome.error);
      }
    }, 60_000);
  }
});
