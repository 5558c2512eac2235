import type { BackendId } from '../cluster/backends.js';
import type { ScenarioId, ScenarioRun, TargetCheck } from './results.js';

/**
 * The figures Charla aims for, next to what this run measured. They are
 * goals to compare against, not pass/fail gates: machines differ.
 */
export function checkTargets(runs: readonly ScenarioRun[]): TargetCheck[] {
  const find = (scenario: ScenarioId, backend: BackendId): ScenarioRun | undefined =>
    runs.find((run) => run.scenario === scenario && run.backend === backend);
  return [
    broadcastCpu(find('broadcast', 'memory')),
    broadcastAcrossNodes(find('broadcast', 'memory'), find('broadcast', 'redis-3')),
    privateAcrossNodes(find('private', 'redis-3')),
    idleMemory(find('idle', 'memory')),
    stormBreakdown(runs.filter((run) => run.scenario === 'storm' && (run.backend === 'redis' || run.backend === 'redis-3'))),
    bareUwsReference(find('broadcast', 'memory'), find('broadcast', 'baseline')),
  ];
}

const micros = (value: number | null | undefined): string => (value === null || value === undefined ? 'n/a' : `${value.toFixed(2)} µs`);

function broadcastCpu(memory: ScenarioRun | undefined): TargetCheck {
  const perDelivery = memory?.median.cpu.serverMicrosPerDelivery ?? null;
  return {
    id: 'broadcast-memory-cpu',
    description: 'broadcast, memory backend, 1 node, 1,000 clients: server CPU per delivered message',
    target: '≤ 2 µs',
    measured: memory ? `${micros(perDelivery)} (${memory.variant})` : 'not run',
    met: perDelivery === null ? null : perDelivery <= 2,
  };
}

function broadcastAcrossNodes(memory: ScenarioRun | undefined, cluster: ScenarioRun | undefined): TargetCheck {
  const base = memory?.median.cpu.serverMicrosPerDelivery ?? null;
  const across = cluster?.median.cpu.serverMicrosPerDelivery ?? null;
  const ratio = base && across !== null ? across / base : null;
  return {
    id: 'broadcast-redis-3-cpu',
    description: 'broadcast across 3 nodes with Redis: CPU per delivered message (nodes + Redis) against the memory backend',
    target: '≤ 1.5 × memory, no loss',
    measured: cluster
      ? `${micros(across)} = ${ratio === null ? 'n/a' : `${ratio.toFixed(2)} ×`} memory, ${cluster.totalLost} lost`
      : 'not run',
    met: ratio === null || !cluster ? null : ratio <= 1.5 && cluster.totalLost === 0,
  };
}

function privateAcrossNodes(cluster: ScenarioRun | undefined): TargetCheck {
  const median = cluster?.median;
  const perMessage = median?.cpu.serverMicrosPerMessage ?? null;
  const p99 = median?.latency?.p99Ms ?? null;
  const rate = median ? (median.sent * 1000) / median.wallMs : null;
  return {
    id: 'private-redis-3',
    description: 'private messages between users on different nodes, 3 nodes + Redis, steady 5,000 msg/s: cluster CPU per message, p99',
    target: '≤ 40 µs per message, p99 < 10 ms, no loss',
    measured: cluster
      ? `${micros(perMessage)} per message, p99 ${p99 ?? 'n/a'} ms, ${cluster.totalLost} lost, ${Math.round(rate ?? 0)} msg/s sent (${cluster.variant})`
      : 'not run',
    met: perMessage === null || p99 === null || !cluster ? null : perMessage <= 40 && p99 < 10 && cluster.totalLost === 0,
  };
}

function idleMemory(memory: ScenarioRun | undefined): TargetCheck {
  const perConnection = memory?.median.memory?.rssPerConnectionBytes ?? null;
  return {
    id: 'idle-rss',
    description: 'idle registered connections on one node (memory backend; aimed at 50,000): RSS per connection',
    target: '≤ 4 KB',
    measured: memory ? `${perConnection === null ? 'n/a' : `${(perConnection / 1024).toFixed(2)} KB`} (${memory.variant})` : 'not run',
    met: perConnection === null ? null : perConnection <= 4096,
  };
}

/**
 * Registrations should be bounded by the join notices they cause: the
 * Redis work per registration is a few commands, a small share of the
 * cluster's CPU, and the rate falls when there are listeners to notify.
 */
function stormBreakdown(storms: readonly ScenarioRun[]): TargetCheck {
  const backend = storms.some((run) => run.backend === 'redis') ? 'redis' : 'redis-3';
  const own = storms.filter((run) => run.backend === backend);
  const quiet = own.find((run) => run.median.registrations?.listeners === 0);
  const crowded = own.find((run) => (run.median.registrations?.listeners ?? 0) > 0);
  const description = 'connect storm with Redis: registrations/s bounded by the join notices they cause, not by Redis round trips';
  const target = 'Redis < 25 % of the server CPU per registration (a few round trips each); fewer registrations/s with listeners than without';
  if (!quiet?.median.registrations || !crowded?.median.registrations) return { id: 'storm-redis', description, target, measured: 'not run', met: null };
  const q = quiet.median.registrations;
  const c = crowded.median.registrations;
  const redisShare = c.redisMicrosPerRegistration !== null && c.serverMicrosPerRegistration ? c.redisMicrosPerRegistration / c.serverMicrosPerRegistration : null;
  return {
    id: 'storm-redis',
    description,
    target,
    measured:
      `${backend}: ${Math.round(q.perSecond)}/s with 0 listeners, ${Math.round(c.perSecond)}/s with ${c.listeners}; ` +
      `per registration with listeners: ${micros(c.serverMicrosPerRegistration)} server CPU, of which Redis ${micros(c.redisMicrosPerRegistration)}, ` +
      `${c.redisCallsPerRegistration?.toFixed(1) ?? 'n/a'} Redis calls (scripts, publishes), ${Math.round(c.joinNoticesDelivered / Math.max(1, c.count))} join notices`,
    met: redisShare === null ? null : redisShare < 0.25 && c.perSecond < q.perSecond,
  };
}

function bareUwsReference(memory: ScenarioRun | undefined, bare: ScenarioRun | undefined): TargetCheck {
  const charla = memory?.median.cpu.serverMicrosPerDelivery ?? null;
  const floor = bare?.median.cpu.serverMicrosPerDelivery ?? null;
  return {
    id: 'bare-uws-reference',
    description: 'for scale: a bare uWebSockets.js broadcast server (bench/baseline/bare-uws.ts) on the same traffic',
    target: 'about 1 µs per delivered frame',
    measured:
      floor === null ? 'not run (add --baseline)' : `${micros(floor)} bare, Charla memory ${charla === null ? 'not run' : `${(charla / floor).toFixed(2)} × that`}`,
    met: null,
  };
}
