import { spawn, type ChildProcess, type Serializable, type SpawnOptions } from 'node:child_process';
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
  /** Every line the process writes; the last few are kept in `recentOutput` either way. */
  readonly onLine?: LineSink;
  /** Opens an IPC channel to the child, which must then be a Node.js process. */
  readonly ipc?: boolean;
}

/** Lines kept for error messages. */
const RECENT_LINES = 40;

/**
 * A child process of the local cluster or the benchmark: its output read
 * line by line, its end observable, and a stop that escalates to SIGKILL.
 * Children get their own process group, so Ctrl-C in a terminal reaches
 * only the parent, which then stops them in order.
 */
export class ManagedProcess {
  readonly exited: Promise<ExitStatus>;
  /** The last lines the process wrote. */
  readonly recentOutput: string[] = [];
  private readonly child: ChildProcess;

  constructor(private readonly options: ManagedProcessOptions) {
    const spawnOptions: SpawnOptions = {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
      detached: true,
    };
    this.child = spawn(options.command, [...options.args], spawnOptions);
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.keep(`could not start ${options.command}: ${err.message}`);
        resolve(null);
      });
      this.child.once('exit', (code, signal) => resolve(signal ?? code));
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => this.keep(line));
    }
  }

  get name(): string {
    return this.options.name;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** How the process ended (exit code or signal), or undefined while it runs. */
  get exitStatus(): ExitStatus | undefined {
    return this.running ? undefined : (this.child.signalCode ?? this.child.exitCode ?? undefined);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined;
  }

  /** Sends a message over the IPC channel; rejects when the channel is gone. */
  send(message: Serializable): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.child.connected) {
        reject(new Error(`${this.name}: no IPC channel`));
        return;
      }
      this.child.send(message, (err) => (err ? reject(new Error(`${this.name}: ${err.message}`)) : resolve()));
    });
  }

  /** Calls `handler` with every message the child sends over the IPC channel. */
  onMessage(handler: (message: unknown) => void): void {
    this.child.on('message', handler);
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

  private keep(line: string): void {
    this.recentOutput.push(line);
    if (this.recentOutput.length > RECENT_LINES) this.recentOutput.shift();
    this.options.onLine?.(this.options.name, line);
  }
}
