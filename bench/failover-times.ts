import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { ChatClient, ChatClientError } from '../src/client/index.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startNode, type CharlaNode } from '../src/node/node.js';
import { startSentinelSetup } from '../scripts/process/sentinel-setup.js';
import { median } from './report/median.js';

/**
 * `npm run bench:failover`: how long a Sentinel failover stops Charla. A
 * master, a replica and three sentinels (`down-after-milliseconds` 1000)
 * on loopback, two nodes, one user on each sending the other a private
 * message every 50 ms; the master is killed (SIGKILL). Measured each time:
 * from the kill to the first message delivered after the last one refused,
 * and what each message sent meanwhile got. Ten kills, each on a fresh setup.
 */
const KILLS = 10;
const SEND_EVERY_MS = 50;

interface Kill {
  /** Whether the sentinels had promoted the replica 9 s after the kill. */
  readonly promoted: boolean;
  readonly backAfterMs: number;
  readonly delivered: number;
  readonly refused: Record<string, number>;
  readonly lostSilently: number;
  readonly twice: number;
}

async function oneKill(): Promise<Kill> {
  const setup = await startSentinelSetup();
  const nodes: CharlaNode[] = [];
  const prefix = `bench:failover:${randomBytes(4).toString('hex')}:`;
  try {
    for (const id of ['f1', 'f2']) {
      const config = loadConfig({ ...setup.env, PORT: '0', HOST: '127.0.0.1', CHARLA_METRICS_PORT: '0', CHARLA_NODE_ID: id, CHARLA_KEY_PREFIX: prefix, CHARLA_RATE_LIMIT_PER_SECOND: '0' });
      nodes.push(await startNode({ config, logger: createLogger({ level: 'silent', nodeId: id }) }));
    }
    const client = (node: CharlaNode) => new ChatClient({ url: `ws://127.0.0.1:${node.port}/chat`, WebSocket, requestTimeoutMs: 60_000, reconnect: false, resume: false });
    const [ana, luis] = [client(nodes[0]!), client(nodes[1]!)];
    await ana.connect();
    await ana.register('ana');
    await luis.connect();
    await luis.register('luis');
    const outcomes: { sentAt: number; copies: number; deliveredAt?: number; error?: string; settled: boolean }[] = [];
    ana.on('private', ({ content }) => {
      const outcome = outcomes[Number(content)];
      if (!outcome) return;
      outcome.copies++;
      outcome.deliveredAt ??= performance.now();
    });
    const send = () => {
      const outcome: (typeof outcomes)[number] = { sentAt: performance.now(), copies: 0, settled: false };
      const n = outcomes.push(outcome) - 1;
      luis.sendPrivate('ana', String(n)).then(
        () => (outcome.settled = true),
        (err: unknown) => {
          outcome.settled = true;
          outcome.error = err instanceof ChatClientError ? err.code : String(err);
        },
      );
    };
    const tick = setInterval(send, SEND_EVERY_MS);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const masterBefore = await setup.masterPort();
    const killedAt = performance.now();
    await setup.killMaster();
    await new Promise((resolve) => setTimeout(resolve, 9000));
    const promoted = (await setup.masterPort()) !== masterBefore;
    clearInterval(tick);
    while (outcomes.some((o) => !o.settled)) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const lastRefused = Math.max(killedAt, ...outcomes.filter((o) => o.error).map((o) => o.sentAt));
    const backAt = Math.min(...outcomes.filter((o) => o.sentAt > lastRefused && o.deliveredAt !== undefined).map((o) => o.deliveredAt!));
    const refused: Record<string, number> = {};
    for (const o of outcomes) if (o.error) refused[o.error] = (refused[o.error] ?? 0) + 1;
    await Promise.all([ana.disconnect(), luis.disconnect()]);
    return {
      promoted,
      backAfterMs: backAt - killedAt,
      delivered: outcomes.filter((o) => o.copies > 0 && !o.error).length,
      refused,
      lostSilently: outcomes.filter((o) => o.copies === 0 && !o.error).length,
      twice: outcomes.filter((o) => o.copies > 1).length,
    };
  } finally {
    await Promise.all(nodes.map((node) => node.stop()));
    await setup.stop();
  }
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function main(): Promise<number> {
  const kills: Kill[] = [];
  for (let i = 0; i < KILLS; i++) {
    const kill = await oneKill();
    kills.push(kill);
    process.stdout.write(
      `kill ${i + 1}: ${kill.promoted ? 'replica promoted' : 'NO PROMOTION within 9 s'}; traffic back ${kill.backAfterMs.toFixed(0)} ms after the kill; ${kill.delivered} delivered, ` +
        `refused ${JSON.stringify(kill.refused)}, lost silently ${kill.lostSilently}, twice ${kill.twice}\n`,
    );
  }
  const back = kills.map((kill) => kill.backAfterMs);
  process.stdout.write(`${KILLS} kills: traffic back p50 ${median(back).toFixed(0)} ms, p99 ${percentile(back, 99).toFixed(0)} ms, max ${Math.max(...back).toFixed(0)} ms\n`);
  return kills.every((kill) => kill.lostSilently === 0 && kill.twice === 0) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:failover failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
