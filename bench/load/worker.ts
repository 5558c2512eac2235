import { LoadClient } from './load-client.js';
import type { CommandResults, ConnectResult, PresenceGaps, TrafficPlan, WorkerCommand, WorkerReply, WorkerRequest } from './messages.js';
import { RatePacer } from './rate-pacer.js';
import { planSender } from './traffic-plan.js';
import { TrafficRecorder } from './traffic-recorder.js';

/**
 * One load generator process: it holds its share of the simulated users and
 * does what the coordinator asks over the IPC channel. It exits when the
 * coordinator goes away, so a crashed benchmark leaves no generators behind.
 */
const TICK_MS = 1;

class GeneratorProcess {
  private readonly recorder = new TrafficRecorder();
  private readonly clients = new Map<number, LoadClient>();

  async handle(command: WorkerCommand): Promise<CommandResults[WorkerCommand['kind']]> {
    switch (command.kind) {
      case 'connect':
        return this.connect(command);
      case 'run':
        return { sent: await this.run(command.plan, command.durationMs) };
      case 'progress':
        return { frames: this.recorder.framesReceived, open: this.openCount() };
      case 'collect': {
        const stats = this.recorder.stats(this.openCount());
        if (command.reset) this.recorder.reset();
        return stats;
      }
      case 'presence-gaps':
        return this.presenceGaps(command.online);
      case 'close-all':
        return { closed: this.closeAll() };
      default:
        return assertNever(command);
    }
  }

  private async connect({ clients, concurrency, timeoutMs, trackPresence }: Extract<WorkerCommand, { kind: 'connect' }>): Promise<ConnectResult> {
    let next = 0;
    let registered = 0;
    const failedNames: string[] = [];
    let firstError: string | undefined;
    const lane = async (): Promise<void> => {
      while (next < clients.length) {
        const spec = clients[next++]!;
        const client = new LoadClient(spec, this.recorder, trackPresence);
        try {
          await client.register(timeoutMs);
          this.clients.set(spec.id, client);
          registered++;
        } catch (err) {
          client.close();
          failedNames.push(spec.name);
          firstError ??= `${spec.name}: ${err instanceof Error ? err.message : String(err)}`;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, clients.length)) }, lane));
    return { registered, failed: failedNames.length, failedNames, ...(firstError ? { firstError } : {}) };
  }

  private run(plan: TrafficPlan, durationMs: number): Promise<number> {
    const sendNext = planSender(plan, this.clients, this.recorder);
    const pacer = new RatePacer(plan.ratePerSecond);
    const started = performance.now();
    let sent = 0;
    return new Promise((resolve, reject) => {
      const timer = setInterval(() => {
        try {
          const elapsed = performance.now() - started;
          for (let due = pacer.due(Math.min(elapsed, durationMs)); due > 0; due--) {
            sendNext();
            sent++;
          }
          if (elapsed >= durationMs) {
            clearInterval(timer);
            resolve(sent);
          }
        } catch (err) {
          clearInterval(timer);
          reject(err);
        }
      }, TICK_MS);
    });
  }

  private presenceGaps(online: readonly string[]): PresenceGaps {
    let trackedClients = 0;
    let gaps = 0;
    let example: string | undefined;
    for (const client of this.clients.values()) {
      if (!client.known) continue;
      trackedClients++;
      for (const name of online) {
        if (client.known.has(name)) continue;
        gaps++;
        example ??= `${client.spec.name} never heard of ${name}`;
      }
    }
    return { trackedClients, gaps, ...(example ? { example } : {}) };
  }

  private closeAll(): number {
    const count = this.clients.size;
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
    return count;
  }

  private openCount(): number {
    let open = 0;
    for (const client of this.clients.values()) if (client.isOpen) open++;
    return open;
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled command: ${JSON.stringify(value)}`);
}

const generator = new GeneratorProcess();
const reply = (message: WorkerReply): void => {
  process.send?.(message);
};

process.on('message', (request: WorkerRequest) => {
  generator.handle(request.command).then(
    (result) => reply({ seq: request.seq, ok: true, result }),
    (err: unknown) => reply({ seq: request.seq, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
