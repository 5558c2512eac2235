import type { TestProject } from 'vitest/node';
import { provisionRedis } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    redisKind: 'container' | 'binary' | 'external';
  }
}

/** One Redis for the whole run; each test isolates itself with a unique key prefix. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await provisionRedis();
  project.provide('redisUrl', redis.url);
  project.provide('redisKind', redis.kind);
  process.stdout.write(`test redis: ${redis.description}\n`);
  return () => redis.remove();
}
