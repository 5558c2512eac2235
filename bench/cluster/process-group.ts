import { createWriteStream, mkdirSync } from 'node:fs';
import { ManagedProcess } from '../../scripts/process/managed-process.js';

/** A process the benchmark started; it has a pid, or starting it would have failed. */
export type StartedProcess = ManagedProcess & { readonly pid: number };

export interface StartOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Every process the benchmark starts, so all of them are stopped whatever
 * way the benchmark ends: normally, on an error, or on Ctrl-C. With a log
 * directory, each process's output goes to `<name>.log` there.
 */
export class ProcessGroup {
  private readonly processes = new Set<ManagedProcess>();

  constructor(private readonly logDirectory?: string) {
    if (logDirectory) mkdirSync(logDirectory, { recursive: true });
  }

  spawn(name: string, command: string, args: readonly string[], options: StartOptions = {}): StartedProcess {
    return this.start(name, command, args, options, false);
  }

  /** A Node.js module as a child process with an IPC channel. */
  fork(name: string, modulePath: string, options: StartOptions & { readonly execArgv?: readonly string[] } = {}): StartedProcess {
    return this.start(name, process.execPath, [...(options.execArgv ?? []), modulePath], options, true);
  }

  /** SIGTERM, then SIGKILL for whatever has not exited within `graceMs`. */
  async stop(process: ManagedProcess, graceMs: number): Promise<void> {
    await process.stop('SIGTERM', graceMs);
    this.processes.delete(process);
  }

  async stopAll(graceMs: number): Promise<void> {
    await Promise.all([...this.processes].map((process) => this.stop(process, graceMs)));
  }

  /** Last resort on exit: no time left to wait, so everything still running is killed. */
  killAllNow(): void {
    for (const process of this.processes) process.killNow();
  }

  private start(name: string, command: string, args: readonly string[], options: StartOptions, ipc: boolean): StartedProcess {
    const log = this.logDirectory ? createWriteStream(`${this.logDirectory}/${name}.log`, { flags: 'a' }) : undefined;
    const managed = new ManagedProcess({
      name,
      command,
      args,
      ipc,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.env ? { env: options.env } : {}),
      ...(log ? { onLine: (_name: string, line: string) => log.write(`${line}\n`) } : {}),
    });
    void managed.exited.then(() => log?.end());
    if (!isStarted(managed)) {
      log?.end();
      throw new Error(`${name} could not be started (${command})`);
    }
    this.processes.add(managed);
    return managed;
  }
}

function isStarted(process: ManagedProcess): process is StartedProcess {
  return process.pid !== undefined;
}
