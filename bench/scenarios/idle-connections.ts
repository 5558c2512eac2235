import type { RoundResult } from '../report/results.js';
import { disconnectAll, sleepWhileMeasuring, type Scenario } from './scenario.js';
import { measureRegistrations } from './registrations.js';

/** Descriptors a process needs besides its client sockets (listening socket, Redis, logs, the runtime's own). */
const DESCRIPTOR_HEADROOM = 200;
/** Getting there costs a join notice per pair of users: allow for it. */
const QUADRATIC_DRAIN_MS = 300_000;

/**
 * Registered users that then sit idle: the node's resident memory per
 * connection, and what keeping them costs while nothing happens (pings,
 * heartbeats). Runs once, on a fresh node: memory a round takes is not
 * given back for the next one.
 */
export const idleScenario: Scenario = {
  id: 'idle',
  title: 'idle connections',
  async run(context) {
    const { connections, holdMs } = context.settings.idle;
    const { meter, generator, system } = context;
    checkDescriptorLimits(context, connections);
    const rssBefore = meter.nodesRssBytes();
    let result: RoundResult;
    try {
      result = await measureRegistrations(context, context.clients.specs('i', connections), {
        listeners: [],
        checkPresence: false,
        drainTimeoutMs: QUADRATIC_DRAIN_MS,
      });
      context.log(`  ${connections} registered in ${(result.wallMs / 1000).toFixed(1)} s (with every join notice delivered)`);
      await meter.settle(30_000);
      const idleCpu = await sleepWhileMeasuring(meter, holdMs);
      const rssAfter = meter.nodesRssBytes();
      const stillOpen = (await generator.progress()).open;
      result = {
        ...result,
        memory:
          rssBefore === null || rssAfter === null
            ? null
            : {
                nodesRssBeforeBytes: rssBefore,
                nodesRssAfterBytes: rssAfter,
                rssPerConnectionBytes: (rssAfter - rssBefore) / connections,
                generatorRssBytes: meter.generatorRssBytes(),
                idleServerCpuMsPerSecond: idleCpu,
              },
        connections: stillOpen,
        lost: result.lost + (connections - stillOpen),
      };
      context.log(`  ${stillOpen} still open after ${holdMs} ms idle, node RSS ${mb(rssBefore)} → ${mb(rssAfter)}`);
    } finally {
      await disconnectAll(context);
    }
    return [{ variant: `${connections} connections on ${system.urls.length} node(s)`, rounds: [result] }];
  },
};

function checkDescriptorLimits(context: Parameters<Scenario['run']>[0], connections: number): void {
  const { meter, generator, system } = context;
  const perNode = Math.ceil(connections / system.urls.length);
  if (meter.measuresServer) {
    const nodeLimit = meter.nodeOpenFileLimit();
    if (perNode + DESCRIPTOR_HEADROOM > nodeLimit) {
      throw new Error(
        `${perNode} connections per node need more file descriptors than a node may open (${nodeLimit}): ` +
          'raise `ulimit -n` in the shell that runs the benchmark, or ask for fewer with --idle-connections',
      );
    }
  }
  const perGenerator = Math.ceil(connections / generator.processCount);
  const ownLimit = meter.generatorOpenFileLimit();
  if (perGenerator + DESCRIPTOR_HEADROOM > ownLimit) {
    throw new Error(
      `${perGenerator} connections per generator process exceed its open-files limit (${ownLimit}): ` +
        `use --generators ${Math.ceil(connections / (ownLimit - DESCRIPTOR_HEADROOM))} or more`,
    );
  }
}

function mb(bytes: number | null): string {
  return bytes === null ? 'n/a' : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
