import type { Redis } from 'ioredis';

/** Lua prologue: `now`, Redis's own clock in milliseconds (one clock for every node). */
export const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

type ScriptCommand = (numberOfKeys: number, ...keysAndArgs: (string | number)[]) => Promise<unknown>;

/**
 * A Lua script as an ioredis custom command (defineCommand): ioredis runs
 * it by its SHA and sends it in full when Redis answers NOSCRIPT (a
 * restarted or failed-over Redis has an empty script cache), in pipelines
 * and on a Cluster alike. Defined on each connection at its first use.
 */
export class LuaScript {
  constructor(
    /** The command's name on the connection; unique among Charla's scripts. */
    private readonly command: string,
    private readonly source: string,
  ) {}

  run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const commands = redis as unknown as Record<string, ScriptCommand | undefined>;
    let run = commands[this.command];
    if (run === undefined) {
      redis.defineCommand(this.command, { lua: this.source });
      run = commands[this.command]!;
    }
    return run.call(redis, keys.length, ...keys, ...args);
  }
}
