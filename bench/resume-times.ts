import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ProcessGroup } from './cluster/process-group.js';
import { startSystem } from './cluster/system-under-test.js';
import { median } from './report/median.js';
import { runResumeRound, type Loss, type Resume, type RoundSettings } from './resume/resume-round.js';

/**
 * `npm run bench:resume`: how long resumable clients take to be back, with
 * everything they missed, after their node is killed or drained. Two nodes
 * on one Redis; each round kills (or drains) the first with its clients on
 * it, and starts afresh. Prints p50/p99 over every resume, from the lost
 * connection to registered again and to caught up.
 */
const USAGE = `npm run bench:resume -- [--clients 50] [--losses SIGKILL,SIGTERM,SIGKILL,SIGTERM] [--send-every-ms 100]\n`;

function roundsAndSettings(argv: readonly string[]): { rounds: Loss[]; settings: RoundSettings } {
  const { values } = parseArgs({
    args: [...argv],
    options: { clients: { type: 'string' }, losses: { type: 'string' }, 'send-every-ms': { type: 'string' } },
  });
  const rounds = (values.losses ?? 'SIGKILL,SIGTERM,SIGKILL,SIGTERM').split(',').map((loss) => loss.trim());
  const bad = rounds.find((loss) => loss !== 'SIGKILL' && loss !== 'SIGTERM');
  if (bad !== undefined) throw new Error(`unknown loss '${bad}' (SIGKILL or SIGTERM)\n${USAGE}`);
  const clients = Number(values.clients ?? 50);
  const sendEveryMs = Number(values['send-every-ms'] ?? 100);
  if (!Number.isInteger(clients) || clients < 1 || !Number.isInteger(sendEveryMs) || sendEveryMs < 10) throw new Error(USAGE);
  return { rounds: rounds as Loss[], settings: { clients, beforeMs: 2000, afterMs: 3000, sendEveryMs } };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function describe(label: string, values: readonly number[]): string {
  return `${label}: p50 ${median(values).toFixed(0)} ms, p99 ${percentile(values, 99).toFixed(0)} ms, max ${Math.max(...values).toFixed(0)} ms`;
}

async function main(): Promise<number> {
  const { rounds: ROUNDS, settings: SETTINGS } = roundsAndSettings(process.argv.slice(2));
  const group = new ProcessGroup(join(resolve('.bench-output'), 'resume-logs'));
  process.once('exit', () => group.killAllNow());
  // The sender talks to every client several times a second from one connection.
  process.env['CHARLA_RATE_LIMIT_PER_SECOND'] = '0';
  const resumes: (Resume & { loss: Loss })[] = [];
  let failures = 0;
  try {
    for (const [index, loss] of ROUNDS.entries()) {
      const tag = `resume${index}`;
      const system = await startSystem('redis-2', { group, entry: 'tsx', tag });
      try {
        const outcome = await runResumeRound(system, loss, SETTINGS, tag);
        resumes.push(...outcome.resumes.map((resume) => ({ ...resume, loss })));
        const notResumed = outcome.resumes.filter((resume) => !resume.resumed).length + SETTINGS.clients - outcome.resumes.length;
        const faults = outcome.duplicates + outcome.outOfOrder + outcome.missing + outcome.departuresSeen + notResumed;
        failures += faults;
        process.stdout.write(
          `round ${index + 1} (${loss}): ${outcome.resumes.length} resumes, ${outcome.sent} rounds of messages (${outcome.refused} refused to the sender); ` +
            `missing ${outcome.missing}, duplicates ${outcome.duplicates}, out of order ${outcome.outOfOrder}, ` +
            `departures seen ${outcome.departuresSeen}, not resumed ${notResumed}; all back ${outcome.allBackMs.toFixed(0)} ms after the signal\n`,
        );
      } finally {
        await system.stop();
      }
    }
  } finally {
    await group.stopAll(15_000);
  }
  for (const loss of new Set(ROUNDS)) {
    const ofLoss = resumes.filter((resume) => resume.loss === loss);
    process.stdout.write(`${loss}, ${ofLoss.length} resumes\n`);
    process.stdout.write(`  ${describe('lost -> registered again', ofLoss.map((r) => r.registeredAt - r.lostAt))}\n`);
    process.stdout.write(`  ${describe('lost -> caught up', ofLoss.map((r) => r.caughtUpAt - r.lostAt))}\n`);
    process.stdout.write(`  ${describe('the same less the backoff wait', ofLoss.map((r) => r.caughtUpAt - r.lostAt - r.backoffMs))}\n`);
  }
  process.stdout.write(`all, ${resumes.length} resumes: ${describe('lost -> caught up', resumes.map((r) => r.caughtUpAt - r.lostAt))}\n`);
  return failures === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:resume failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
