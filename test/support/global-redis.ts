import type { TestProject } from 'vitest/node';
import { provisionRedis } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** One Redis for the whole run; each test isolates itself with a unique key prefix. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await provisionRedis();
  project.provide('redisUrl', redis.url);
  process.stdout.write(`test redis: ${redis.kind} at ${redis.url}\n`);
  return () => redis.stop();
}
