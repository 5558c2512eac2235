import { redisRoundTrips } from '../cluster/redis-process.js';
import type { ClientSpec } from '../load/messages.js';
import type { RoundResult } from '../report/results.js';
import { cpuFigures, drain, type ScenarioContext } from './scenario.js';

export interface RegistrationOptions {
  /** Users registered before, with presence tracking (connected by `connectAll(…, true)`). */
  readonly listeners: readonly ClientSpec[];
  /**
   * Check that every user heard of every other (through its user list or a
   * join notice). Costs a set of names per client: for a few thousand users.
   */
  readonly checkPresence: boolean;
  readonly drainTimeoutMs?: number;
}

/**
 * Registers `newcomers` as fast as the server takes them while `listeners`
 * are online, and measures it. Every registration is announced to every
 * user online, so the join notices grow with the users already there.
 *
 * With `checkPresence`, what counts as delivered is presence: each user
 * online must know each user online (expected = users²), and a pair where
 * one never heard of the other is lost. Without it, a registration is
 * delivered when its `register_success` arrived.
 */
export async function measureRegistrations(
  context: ScenarioContext,
  newcomers: readonly ClientSpec[],
  { listeners, checkPresence, drainTimeoutMs }: RegistrationOptions,
): Promise<RoundResult> {
  const { generator, meter, system, settings } = context;
  const count = newcomers.length;
  const redisCallsBefore = system.redis ? await redisRoundTrips(system.redis.urls) : null;
  await generator.collect(true);
  const endWindow = meter.begin();
  const started = performance.now();
  const outcome = await generator.connect(newcomers, settings.connectConcurrency, 60_000, checkPresence);
  const connectMs = performance.now() - started;
  // Each pair of newcomers makes at least one notice, usually exactly one.
  const typicalNotices = listeners.length * count + (count * (count - 1)) / 2;
  await drain(context, count + typicalNotices, drainTimeoutMs);
  const usage = endWindow();
  const redisCalls = system.redis && redisCallsBefore !== null ? (await redisRoundTrips(system.redis.urls)) - redisCallsBefore : null;
  const failed = new Set(outcome.failedNames);
  const presence = checkPresence ? await presenceCheck(context, [...listeners, ...newcomers.filter((spec) => !failed.has(spec.name))]) : undefined;
  const stats = await generator.collect(true);
  const users = listeners.length + outcome.registered;
  const expected = presence ? presence.expected : count;
  const delivered = presence ? presence.expected - presence.gaps : stats.received.register_success;
  const cpu = cpuFigures(usage, stats.received.register_success + stats.received.status_update, count);
  const errors = {
    ...stats.errors,
    ...(outcome.failed > 0 ? { REGISTRATION_FAILED: outcome.failed } : {}),
    ...(presence && presence.gaps > 0 ? { PRESENCE_GAPS: presence.gaps } : {}),
  };
  if (presence?.example) context.log(`  presence gap: ${presence.example}`);
  return {
    wallMs: usage.wallMs,
    connections: users,
    sent: count,
    expected,
    delivered,
    lost: Math.max(0, expected - delivered) + outcome.failed,
    deliveredPerSecond: (stats.received.register_success * 1000) / usage.wallMs,
    latency: stats.registrationLatency.summary(),
    cpu,
    memory: null,
    registrations: {
      count: outcome.registered,
      perSecond: (outcome.registered * 1000) / connectMs,
      listeners: listeners.length,
      latency: stats.registrationLatency.summary(),
      joinNoticesDelivered: stats.received.status_update,
      serverMicrosPerRegistration: cpu.serverMicrosPerMessage,
      redisMicrosPerRegistration: usage.redisCpuMs === null ? null : (usage.redisCpuMs * 1000) / count,
      redisCallsPerRegistration: redisCalls === null ? null : redisCalls / count,
    },
    errors,
    closes: stats.closes,
  };
}

/** Users online × users online who should know of each other; notices still in flight get time to land. */
async function presenceCheck(context: ScenarioContext, online: readonly ClientSpec[]): Promise<{ expected: number; gaps: number; example?: string }> {
  const names = online.map((spec) => spec.name);
  let result = await context.generator.presenceGaps(names);
  if (result.gaps > 0) {
    await drain(context, Number.POSITIVE_INFINITY);
    result = await context.generator.presenceGaps(names);
  }
  return { expected: result.trackedClients * names.length, gaps: result.gaps, ...(result.example ? { example: result.example } : {}) };
}
