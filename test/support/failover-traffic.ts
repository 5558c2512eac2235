import WebSocket from 'ws';
import { ChatClient, ChatClientError } from '../../src/client/index.js';
import { DeliveryLedger } from './delivery-ledger.js';
import { TestClient } from './test-client.js';
import { waitUntil } from './wait.js';

/** A chat node as the failover tests see it. */
interface ChatNode {
  readonly url: string;
}

/** What became of the traffic of a fault: the private ledgers both ways, and ana's room messages as bea heard them. */
export interface FailoverOutcome {
  readonly toBea: DeliveryLedger;
  readonly toAna: DeliveryLedger;
  /** Each room message's answer to ana: 'ok' or the error code. */
  readonly roomAnswers: readonly (string | undefined)[];
  readonly roomHeard: readonly number[];
  /** Departures a course client on the second node saw while ana and bea were online: none, when nobody was taken for gone. */
  readonly departuresSeen: readonly unknown[];
}

/**
 * Two users on two nodes exchanging a private message each way and ana a
 * room message every 100 ms, while `fault` runs; then every message's
 * answer is awaited. Course clients' path: no reconnection, no resumable
 * session, no request timeout, so every message keeps its own outcome.
 */
export async function trafficThrough(nodes: readonly [ChatNode, ChatNode], fault: () => Promise<void>, watchers: TestClient[]): Promise<FailoverOutcome> {
  const client = (node: ChatNode) => new ChatClient({ url: node.url, WebSocket, requestTimeoutMs: 60_000, reconnect: false, resume: false });
  const ana = client(nodes[0]);
  const bea = client(nodes[1]);
  await ana.connect();
  await ana.register('ana');
  await bea.connect();
  await bea.register('bea');
  const olga = await TestClient.register(nodes[1].url, 'olga');
  watchers.push(olga);
  const toBea = new DeliveryLedger('ana>bea', () => ana, 'bea');
  const toAna = new DeliveryLedger('bea>ana', () => bea, 'ana');
  ana.on('private', (frame) => toAna.heard(frame.content));
  bea.on('private', (frame) => toBea.heard(frame.content));
  const roomHeard: number[] = [];
  const roomAnswers: (string | undefined)[] = [];
  bea.on('broadcast', ({ sender, content }) => sender === 'ana' && roomHeard.push(Number(content)));
  let room = 0;
  const tick = setInterval(() => {
    toBea.send();
    toAna.send();
    const n = room++;
    ana.broadcast(String(n)).then(
      () => (roomAnswers[n] = 'ok'),
      (err: unknown) => (roomAnswers[n] = err instanceof ChatClientError ? err.code : String(err)),
    );
  }, 100);
  try {
    await fault();
  } finally {
    clearInterval(tick);
  }
  await waitUntil(() => toBea.allSettled && toAna.allSettled && roomAnswers.filter(Boolean).length === room, 'every message has its answer', 30_000);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const departuresSeen = olga.received.filter((frame) => frame.type === 'user_disconnected');
  await Promise.all([ana.disconnect(), bea.disconnect()]);
  return { toBea, toAna, roomAnswers, roomHeard, departuresSeen };
}

/** Room messages ana was told went that bea never heard, heard twice, or out of order: all empty when nothing was lost. */
export function roomViolations({ roomAnswers, roomHeard }: FailoverOutcome): { lost: number[]; twice: number; outOfOrder: boolean } {
  return {
    lost: roomAnswers.flatMap((answer, n) => (answer === 'ok' && !roomHeard.includes(n) ? [n] : [])),
    twice: roomHeard.length - new Set(roomHeard).size,
    outOfOrder: roomHeard.some((n, i) => i > 0 && n < roomHeard[i - 1]!),
  };
}
