import WebSocket from 'ws';
import { ChatClient } from '../../src/client/index.js';
import type { SystemUnderTest } from '../cluster/system-under-test.js';

/** Private messages the sender has in flight at once: well within what a node queues for one connection. */
const SEND_SLICE = 50;

/** How the node holding the resumable clients goes away. */
export type Loss = 'SIGKILL' | 'SIGTERM';

export interface RoundSettings {
  readonly clients: number;
  /** Traffic before and after the loss. */
  readonly beforeMs: number;
  readonly afterMs: number;
  /** One broadcast, and one private message to each client, this often. */
  readonly sendEveryMs: number;
}

/** One client's resume: when its connection went, when it was registered again, when it had everything sent before that. */
export interface Resume {
  readonly lostAt: number;
  /** The client library's wait before its first attempt (backoff with jitter), part of the time to be back. */
  readonly backoffMs: number;
  readonly registeredAt: number;
  readonly caughtUpAt: number;
  readonly resumed: boolean;
}

export interface RoundOutcome {
  readonly resumes: Resume[];
  /** Messages a client got twice, out of order, or never: each should be 0. */
  readonly duplicates: number;
  readonly outOfOrder: number;
  readonly missing: number;
  /** Departures of a resumable client seen by the sender: should be 0. */
  readonly departuresSeen: number;
  readonly sent: number;
  /** Messages the sender was answered an error for (not owed to anyone). */
  readonly refused: number;
  /** From the signal to the last client back with everything (the drain time, for SIGTERM). */
  readonly allBackMs: number;
}

interface Arrival {
  readonly n: number;
  readonly at: number;
}

/**
 * Resumable clients (the client library, defaults) on the first node; a
 * sender on the second sends a broadcast and a private message to each, every
 * `sendEveryMs`; then the first node goes (`loss`). Every client must come
 * back on the second node with every message once and in order.
 */
export async function runResumeRound(system: SystemUnderTest, loss: Loss, settings: RoundSettings, tag: string): Promise<RoundOutcome> {
  const [first, second] = system.urls;
  if (!first || !second || system.nodePids.length < 2) throw new Error('a resume round needs two nodes started here');
  const sender = new ChatClient({ url: second, WebSocket, resume: false, reconnect: false });
  await sender.connect();
  await sender.register(`${tag}sender`);
  let departuresSeen = 0;
  sender.on('user_disconnected', () => departuresSeen++);

  const clients = await Promise.all(
    Array.from({ length: settings.clients }, async (_, index) => {
      const name = `${tag}u${index}`;
      const client = new ChatClient({ url: [first, second], WebSocket });
      const arrivals = { room: [] as Arrival[], direct: [] as Arrival[] };
      // What the sender was told went out to this client: only that is owed to it.
      const accepted = { room: new Set<number>(), direct: new Set<number>() };
      const times = { lostAt: 0, backoffMs: 0, registeredAt: 0, resumed: false };
      client.on('broadcast', ({ content }) => arrivals.room.push({ n: Number(content.slice(1)), at: performance.now() }));
      client.on('private', ({ content }) => arrivals.direct.push({ n: Number(content.slice(1)), at: performance.now() }));
      client.on('reconnecting', ({ attempt, delayMs }) => {
        if (attempt !== 1) return;
        times.lostAt = performance.now();
        times.backoffMs = delayMs;
      });
      client.on('reconnected', ({ resumed }) => {
        times.registeredAt = performance.now();
        times.resumed = resumed === true;
      });
      await client.connect();
      await client.register(name);
      return { name, client, arrivals, accepted, times };
    }),
  );

  // Send times, by message number: what was sent before a client was back is what it must have caught up with.
  const sentAt: number[] = [];
  let refused = 0;
  let stopSending = false;
  const sending = (async () => {
    for (let n = 0; !stopSending; n++) {
      sentAt[n] = performance.now();
      const broadcast = sender.broadcast(`b${n}`).then(
        () => clients.forEach(({ accepted }) => accepted.room.add(n)),
        () => refused++,
      );
      // In slices, within what the node queues for one connection.
      for (let start = 0; start < clients.length; start += SEND_SLICE) {
        await Promise.all(
          clients.slice(start, start + SEND_SLICE).map(({ name, accepted }) =>
            sender.sendPrivate(name, `p${n}`).then(
              () => accepted.direct.add(n),
              () => refused++,
            ),
          ),
        );
      }
      await broadcast;
      await new Promise((resolve) => setTimeout(resolve, settings.sendEveryMs));
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, settings.beforeMs));
  const signalledAt = performance.now();
  process.kill(system.nodePids[0]!, loss);
  await new Promise((resolve) => setTimeout(resolve, settings.afterMs));
  stopSending = true;
  await sending;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  // Counted before the clients leave below, which the sender rightly sees.
  const departuresBeforeLeaving = departuresSeen;

  let duplicates = 0;
  let outOfOrder = 0;
  let missing = 0;
  const resumes: Resume[] = [];
  for (const { client, arrivals, accepted, times } of clients) {
    for (const [list, owed] of [
      [arrivals.room, accepted.room],
      [arrivals.direct, accepted.direct],
    ] as const) {
      const seen = new Set<number>();
      let last = -1;
      for (const { n } of list) {
        if (seen.has(n)) duplicates++;
        if (n < last) outOfOrder++;
        seen.add(n);
        last = Math.max(last, n);
      }
      for (const n of owed) if (!seen.has(n)) missing++;
    }
    if (times.registeredAt > 0) {
      const owed = [...arrivals.room, ...arrivals.direct].filter(({ n }) => sentAt[n]! < times.registeredAt);
      const caughtUpAt = Math.max(times.registeredAt, ...owed.map(({ at }) => at));
      resumes.push({ lostAt: times.lostAt, backoffMs: times.backoffMs, registeredAt: times.registeredAt, caughtUpAt, resumed: times.resumed });
    }
    await client.disconnect();
  }
  await sender.disconnect();
  const allBackMs = Math.max(...resumes.map((resume) => resume.caughtUpAt)) - signalledAt;
  return { resumes, duplicates, outOfOrder, missing, departuresSeen: departuresBeforeLeaving, sent: sentAt.length, refused, allBackMs };
}
