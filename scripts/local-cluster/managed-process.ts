import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';

export type ExitStatus = number | NodeJS.Signals | null;

/** Receives every line a process writes, stdout and stderr, with the process's name. */
export type LineSink = (name: string, line: string) => void;

export interface ManagedProcessOptions {
  /** Name used in log lines and errors. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly onLine: LineSink;
}

/**
 * A child process of the local cluster: its output read line by line, its
 * end observable, and a stop that escalates to SIGKILL. Children get their
 * own process group, so Ctrl-C in a terminal reaches only the cluster, which
 * then stops them in order.
 */
export class ManagedProcess {
  readonly exited: Promise<ExitStatus>;
  private readonly child: ChildProcess;

  constructor(private readonly options: ManagedProcessOptions) {
    const spawnOptions: SpawnOptions = {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    };
    this.child = spawn(options.command, [...options.args], spawnOptions);
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        options.onLine(options.name, `could not start ${options.command}: ${err.message}`);
        resolve(null);
      });
      this.child.once('exit', (code, signal) => resolve(signal ?? code));
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => options.onLine(options.name, line));
    }
  }

  get name(): string {
    return this.options.name;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined;
  }

  /** Sends a signal (if still running) and waits for the process to end. */
  kill(signal: NodeJS.Signals): Promise<ExitStatus> {
    if (this.running) this.child.kill(signal);
    return this.exited;
  }

  /** Asks politely, then forces it after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<ExitStatus> {
    if (!this.running) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Last resort at process exit: synchronous, no waiting. */
  killNow(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}
