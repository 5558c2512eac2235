import { createRequire } from 'node:module';
import pino, { type Logger, type LoggerOptions } from 'pino';

export interface LoggerSettings {
  readonly level: string;
  readonly nodeId: string;
  /** Human-readable output (when writing to a terminal and pino-pretty is installed). */
  readonly pretty?: boolean;
}

/** The root logger of one node; components take child loggers from it. */
export function createLogger({ level, nodeId, pretty = false }: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level,
    base: { node: nodeId },
    redact: { paths: ['*.password', '*.token', '*.authorization', 'redisUrl'], censor: '[redacted]' },
  };
  if (pretty && isInstalled('pino-pretty')) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino(options);
}

function isInstalled(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}
