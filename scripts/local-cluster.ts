/**
 * A Charla cluster on this machine, behind HAProxy, for trying scaling and
 * failover by hand:
 *
 *   npm run cluster                      # 3 nodes, ws://127.0.0.1:8080/chat
 *   npm run cluster -- --nodes 5 --port 9000
 *
 * Needs redis-server and haproxy on the PATH (Debian: apt-get install
 * redis-server haproxy). Kill a node with `kill -9 PID` to watch its users
 * being reaped; Ctrl-C stops everything.
 */
import { parseArgs } from 'node:util';
import { startLocalCluster, type LocalCluster } from './local-cluster/cluster.js';

const USAGE = `usage: npm run cluster -- [--nodes N] [--port PORT] [--stats-port PORT] [--redis-url URL] [--key-prefix PREFIX] [--quiet]`;

function wholeNumber(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new Error(`--${name} takes a whole number, not '${value}'`);
  return number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string' },
      port: { type: 'string' },
      'stats-port': { type: 'string' },
      'redis-url': { type: 'string' },
      'key-prefix': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  // Ctrl-C while starting: exit at once; the cluster kills what it started.
  const abortStart = (): never => process.exit(130);
  process.once('SIGINT', abortStart);
  process.once('SIGTERM', abortStart);
  const cluster = await startLocalCluster({
    nodes: wholeNumber('nodes', values.nodes, 3),
    port: wholeNumber('port', values.port, 8080),
    statsPort: wholeNumber('stats-port', values['stats-port'], 8404),
    ...(values['redis-url'] ? { redisUrl: values['redis-url'] } : {}),
    ...(values['key-prefix'] ? { keyPrefix: values['key-prefix'] } : {}),
    onLine: values.quiet ? undefined : (source, line) => process.stderr.write(`${source.padEnd(9)}| ${line}\n`),
  });
  process.removeListener('SIGINT', abortStart);
  process.removeListener('SIGTERM', abortStart);
  printSummary(cluster);
  let stopping = false;
  for (const node of cluster.nodes) {
    void node.exited.then((status) => {
      if (!stopping) process.stdout.write(`node ${node.id} ended (${String(status)}); the others carry on\n`);
    });
  }

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping the cluster...\n`);
    cluster.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`stopping failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function printSummary(cluster: LocalCluster): void {
  const lines = [
    `Charla local cluster: ${cluster.nodes.length} nodes behind HAProxy`,
    `  chat:   ${cluster.url}`,
    `  stats:  ${cluster.statsUrl}`,
    `  redis:  ${cluster.redisUrl} (key prefix ${cluster.keyPrefix})`,
    ...cluster.nodes.map((node) => `  node:   ${node.id.padEnd(9)} ${node.httpUrl}  metrics ${node.metricsUrl}  pid ${String(node.pid)}`),
    'Ctrl-C stops everything.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`local cluster: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
  process.exit(1);
});
