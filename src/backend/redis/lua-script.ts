import type { RedisClient } from './connection.js';

/** Lua prologue: `now`, Redis's own clock in milliseconds (one clock for every node). */
export const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

type ScriptCommand = (...keysAndArgs: (string | number)[]) => Promise<unknown>;

/**
 * A Lua script, run as an ioredis custom command: ioredis sends EVALSHA and
 * falls back to EVAL when Redis answers NOSCRIPT (a restarted or
 * failed-over Redis has an empty script cache), inside auto-pipelined
 * batches too. Each user of a connection defines its scripts there when it
 * is built, before any command: ioredis 5 misaligns the replies of an
 * auto-pipelined batch that was opened before a command was defined
 * (ioredis#1931), so defining on first use is not safe.
 *
 * Its number of keys is part of its definition: ioredis then knows the
 * first key, and on a Redis Cluster sends the script (auto-pipelined
 * with the other commands for the same server) to the server of that
 * key's slot, instead of by the slot of the key count.
 */
export class LuaScript {
  private readonly definedOn = new WeakSet<RedisClient>();
  /** Prefixed, so no script can shadow one of ioredis's own commands. */
  private readonly command: string;

  constructor(
    readonly name: string,
    private readonly numberOfKeys: number,
    private readonly source: string,
  ) {
    this.command = `charla_${name}`;
  }

  /** Makes the script a command of `redis`; repeating it is harmless. */
  defineOn(redis: RedisClient): void {
    if (this.definedOn.has(redis)) return;
    redis.defineCommand(this.command, { lua: this.source, numberOfKeys: this.numberOfKeys });
    this.definedOn.add(redis);
  }

  run(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    if (!this.definedOn.has(redis)) throw new Error(`the ${this.command} script was not defined on this connection when it was built`);
    if (keys.length !== this.numberOfKeys) throw new Error(`the ${this.command} script takes ${this.numberOfKeys} keys, not ${keys.length}`);
    const command = (redis as unknown as Record<string, ScriptCommand>)[this.command]!;
    return command.call(redis, ...keys, ...args);
  }
}
