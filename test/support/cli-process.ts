import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The `charla` terminal client as a child process (src/cli/charla.ts
 * through tsx), driven through piped stdin: type lines, wait for output.
 */
export class CliProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];

  private constructor(private readonly child: ChildProcess) {
    const collect = (line: string): void => {
      this.lines.push(line);
      const waiter = this.waiters.find((w) => w.match(line));
      if (waiter) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(line);
      }
    };
    createInterface({ input: child.stdout! }).on('line', collect);
    createInterface({ input: child.stderr! }).on('line', collect);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static start(args: readonly string[], env: Record<string, string> = {}): CliProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/charla.ts', ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new CliProcess(child);
  }

  /** Types a line, as if followed by Enter. */
  type(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** Closes stdin, like Ctrl-D or the end of a pipe. */
  endInput(): void {
    this.child.stdin!.end();
  }

  /** The first line printed, so far or from now on, that matches. */
  waitForLine(pattern: RegExp, timeoutMs = 8000): Promise<string> {
    const match = (line: string): boolean => pattern.test(line);
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${this.lines.join('\n')}`));
      }, timeoutMs);
      const done = (line: string): void => {
        clearTimeout(timer);
        resolve(line);
      };
      this.waiters.push({ match, resolve: done });
    });
  }

  kill(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    return this.exited;
  }
}
