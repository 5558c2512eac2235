import { startNode, type CharlaNode } from './node/node.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './logger.js';

/** Starts one node from the environment and drains it on SIGTERM / SIGINT. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`charla: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel, nodeId: config.nodeId, pretty: process.stdout.isTTY === true });
  let node: CharlaNode | undefined;
  let signalled = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    if (!node) {
      // Still waiting for Redis: no client was let in, so there is nothing to drain.
      logger.info({ signal }, 'stopped while starting');
      process.exit(0);
    }
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error('grace period over before shutdown finished; exiting');
      process.exit(1);
    }, config.shutdownGraceMs);
    timer.unref();
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  node = await startNode({ config, logger });
}

main().catch((err: unknown) => {
  process.stderr.write(`charla: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
