import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export interface LoggerSettings {
  readonly level: string;
  readonly nodeId: string;
  /** Human-readable output (when writing to a terminal and pino-pretty is installed). */
  readonly pretty?: boolean;
  /** Where to write; standard output by default. */
  readonly destination?: DestinationStream;
}

/** Fields that may carry credentials, wherever they appear in a log entry. */
const REDACTED_PATHS = [
  'token',
  'password',
  'authorization',
  'secret',
  'redisUrl',
  '*.token',
  '*.password',
  '*.authorization',
  '*.secret',
  '*.redisUrl',
  'headers.authorization',
  'req.headers.authorization',
];

/** The root logger of one node; components take child loggers from it. */
export function createLogger({ level, nodeId, pretty = false, destination }: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level,
    base: { node: nodeId },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  if (pretty && !destination && isInstalled('pino-pretty')) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return destination ? pino(options, destination) : pino(options);
}

function isInstalled(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}
