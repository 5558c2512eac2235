import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type { MemoryCluster } from '../../src/backend/memory/memory-backend.js';
import { startNode, type CharlaNode } from '../../src/node/node.js';
import { loadConfig } from '../../src/config.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type NodeEnv = Record<string, string>;

/** Environment for a test node: port 0, quiet logs, the given backend. */
export function nodeEnv(env: NodeEnv = {}): NodeEnv {
  return { PORT: '0', HOST: '127.0.0.1', CHARLA_METRICS_PORT: '0', LOG_LEVEL: 'warn', ...env };
}

/** A node in this process, configured through the same environment parsing as production. */
export async function startInProcessNode(env: NodeEnv = {}, memory?: MemoryCluster): Promise<CharlaNode & { url: string }> {
  const config = loadConfig(nodeEnv(env));
  const logger = pino({ level: config.logLevel, base: { node: config.nodeId } });
  const node = await startNode({ config, logger, ...(memory ? { memory } : {}) });
  return Object.assign(node, { url: `ws://127.0.0.1:${node.port}/chat` });
}

export interface ChildNode {
  readonly process: ChildProcess;
  readonly port: number;
  /** Where it serves /metrics. */
  readonly metricsPort: number;
  readonly url: string;
  readonly nodeId: string;
  readonly logs: string[];
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  kill(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals | null>;
}

/**
 * A node as its own process (src/main.ts through tsx), for crashes and
 * signals. Resolves when it serves clients, or with `untilPortOpen` as soon
 * as its HTTP port is open (before its backend is connected).
 */
export async function startChildNode(env: NodeEnv = {}, { untilPortOpen = false, openFileLimit = undefined as number | undefined } = {}): Promise<ChildNode> {
  const childEnv = { ...process.env, ...nodeEnv({ LOG_LEVEL: 'info', ...env }) };
  const node = [process.execPath, '--import', 'tsx', 'src/main.ts'];
  // prlimit (util-linux) starts the node under a smaller open-file limit, as a small container would.
  const [command, ...args] = openFileLimit === undefined ? node : ['prlimit', `--nofile=${openFileLimit}`, ...node];
  const child = spawn(command!, args, {
    cwd: PROJECT_ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  );
  createInterface({ input: child.stderr! }).on('line', (line) => logs.push(line));
  let metricsPort = 0;
  const listening = new Promise<{ port: number; nodeId: string }>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number; node?: string };
        const awaited = untilPortOpen ? 'http port open' : 'charla node listening';
        if (entry.msg === 'metrics port open' && entry.port) metricsPort = entry.port;
        if (entry.msg === awaited && entry.port) resolve({ port: entry.port, nodeId: entry.node ?? '' });
      } catch {
        // not a JSON log line
      }
    });
    void exited.then((code) => reject(new Error(`node exited (${String(code)}) before listening:\n${logs.join('\n')}`)));
  });
  const timeout = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const { port, nodeId } = await listening.finally(() => clearTimeout(timeout));
  return {
    process: child,
    port,
    metricsPort,
    nodeId,
    url: `ws://127.0.0.1:${port}/chat`,
    logs,
    exited,
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Stops whatever a test started, ignoring what is already gone. */
export async function stopAll(nodes: { stop?: () => Promise<void>; kill?: (s?: NodeJS.Signals) => Promise<unknown> }[]): Promise<void> {
  await Promise.allSettled(nodes.map((node) => (node.stop ? node.stop() : node.kill?.('SIGKILL'))));
}

