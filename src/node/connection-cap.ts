import { readFileSync } from 'node:fs';

/** Files a node needs besides its clients: Redis connections, the listening socket, logs, the web client, headroom. */
const RESERVED_FILES = 256;

/**
 * The connection cap that keeps a node clear of EMFILE: its open-file
 * limit less a margin (a tenth, at least 256 files), so a full node refuses
 * upgrades with 503 instead of failing to accept.
 */
export function connectionCapFor(openFileLimit: number): number {
  return Math.max(1, openFileLimit - Math.max(RESERVED_FILES, Math.ceil(openFileLimit / 10)));
}

/** The soft limit on open files from /proc/self/limits; undefined where there is none (not Linux) or it is unlimited. */
export function readOpenFileLimit(limits = readProcLimits()): number | undefined {
  const line = limits?.split('\n').find((row) => row.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  return soft !== undefined && /^\d+$/.test(soft) ? Number(soft) : undefined;
}

function readProcLimits(): string | undefined {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
}
