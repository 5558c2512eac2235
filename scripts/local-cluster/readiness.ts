import { connect } from 'node:net';
import type { ManagedProcess } from '../process/managed-process.js';

const POLL_MS = 100;

/**
 * Polls `probe` until it answers true, failing fast if `process` ends first
 * and failing after `timeoutMs` otherwise.
 */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  process: ManagedProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!process.running) throw new Error(`${process.name} ended (${String(await process.exited)}) before ${what}`);
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`${process.name}: no ${what} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** True when GET `url` answers with HTTP 200. */
export async function answersOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/** True when a Redis server at host:port answers PING. */
export function redisAnswersPing(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let reply = '';
    const finish = (answered: boolean): void => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}
