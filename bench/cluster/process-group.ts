import { fork, spawn, type ChildProcess, type ForkOptions, type SpawnOptions } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** The last lines the process wrote, for error messages. */
  readonly recentOutput: string[];
  readonly exited: Promise<number | NodeJS.Signals | null>;
  get running(): boolean;
}

const RECENT_LINES = 40;

/**
 * Every process the benchmark starts, so all of them are stopped whatever
 * way the benchmark ends: normally, on an error, or on Ctrl-C.
 */
export class ProcessGroup {
  private readonly processes = new Set<ManagedProcess>();

  constructor(private readonly logDirectory?: string) {}

  spawn(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): ManagedProcess {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    return this.manage(name, child);
  }

  fork(name: string, modulePath: string, options: ForkOptions = {}): ManagedProcess {
    const child = fork(modulePath, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], ...options });
    return this.manage(name, child);
  }

  /** SIGTERM, then SIGKILL for whatever has not exited within `graceMs`. */
  async stop(process: ManagedProcess, graceMs: number): Promise<void> {
    if (process.running) {
      process.child.kill('SIGTERM');
      const timer = setTimeout(() => process.child.kill('SIGKILL'), graceMs);
      await process.exited;
      clearTimeout(timer);
    }
    this.processes.delete(process);
  }

  async stopAll(graceMs: number): Promise<void> {
    await Promise.all([...this.processes].map((process) => this.stop(process, graceMs)));
  }

  /** Last resort on exit: no time left to wait, so everything still running is killed. */
  killAllNow(): void {
    for (const process of this.processes) if (process.running) process.child.kill('SIGKILL');
  }

  private manage(name: string, child: ChildProcess): ManagedProcess {
    if (child.pid === undefined) throw new Error(`${name} could not be started`);
    const recentOutput: string[] = [];
    const log = this.logDirectory ? openLog(`${this.logDirectory}/${name}.log`) : undefined;
    const keep = (chunk: Buffer): void => {
      log?.write(chunk);
      recentOutput.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      if (recentOutput.length > RECENT_LINES) recentOutput.splice(0, recentOutput.length - RECENT_LINES);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let running = true;
    const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
      child.once('exit', (code, signal) => {
        running = false;
        log?.end();
        resolve(signal ?? code);
      }),
    );
    const managed: ManagedProcess = {
      name,
      child,
      pid: child.pid,
      recentOutput,
      exited,
      get running() {
        return running;
      },
    };
    this.processes.add(managed);
    return managed;
  }
}

function openLog(path: string): NodeJS.WritableStream {
  mkdirSync(dirname(path), { recursive: true });
  return createWriteStream(path, { flags: 'a' });
}
