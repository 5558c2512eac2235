import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * CPU time and memory of processes on this machine, from /proc. CPU time is
 * utime + stime of the whole process (every thread), in clock ticks.
 */
export class ProcStats {
  readonly clockTicksPerSecond: number;

  constructor() {
    this.clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  }

  /** CPU time the process used so far, in milliseconds; 0 once it is gone. */
  cpuMillis(pid: number): number {
    const stat = readProcFile(pid, 'stat');
    if (!stat) return 0;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / this.clockTicksPerSecond;
  }

  totalCpuMillis(pids: readonly number[]): number {
    return pids.reduce((sum, pid) => sum + this.cpuMillis(pid), 0);
  }

  /** Resident set size in bytes; 0 once the process is gone. */
  rssBytes(pid: number): number {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readProcFile(pid, 'status') ?? '')?.[1];
    return kb ? Number(kb) * 1024 : 0;
  }

  /** The soft limit on open files of a process. */
  openFileLimit(pid: number): number {
    const limit = /^Max open files\s+(\d+|unlimited)/m.exec(readProcFile(pid, 'limits') ?? '')?.[1];
    return limit === undefined || limit === 'unlimited' ? Number.POSITIVE_INFINITY : Number(limit);
  }
}

function readProcFile(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}
