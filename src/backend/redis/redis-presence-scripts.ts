import { LuaScript, NOW_MS } from './lua-script.js';

/*
 * Atomic presence updates. Lease times come from Redis's own clock (TIME),
 * so nodes with skewed clocks still agree on who is alive.
 */

/** KEYS: user, users, nodeUsers. ARGV: name, node, ip, leaseMs, hashTtlMs. → 1 claimed, 0 taken. */
export const CLAIM = new LuaScript('claim', `${NOW_MS}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'node', ARGV[2], 'ip', ARGV[3], 'status', 'ACTIVO', 'auto', '0', 'since', now)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return 1`);

/**
 * KEYS: user, users, nodeUsers. ARGV: name, node, ip, leaseMs, hashTtlMs, status, auto (0|1).
 * Like CLAIM, but a name this node still holds is renewed, keeping its
 * registration time. → 1 taken back, 2 still held by this node, 0 held by another.
 */
export const RECLAIM = new LuaScript('reclaim', `${NOW_MS}
local owner = redis.call('HGET', KEYS[1], 'node')
if owner and owner ~= ARGV[2] then return 0 end
if not owner then redis.call('HSET', KEYS[1], 'node', ARGV[2], 'since', now) end
redis.call('HSET', KEYS[1], 'ip', ARGV[3], 'status', ARGV[6], 'auto', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
if owner then return 2 end
return 1`);

/** KEYS: user, users, nodeUsers. ARGV: name, node. → 1 released, 0 not held by this node. */
export const RELEASE = new LuaScript('release', `
redis.call('SREM', KEYS[3], ARGV[1])
if redis.call('HGET', KEYS[1], 'node') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1`);

/** KEYS: user. ARGV: node, status, auto (0|1). → 1 stored, 0 not held by this node. */
export const SET_STATUS = new LuaScript('set_status', `
if redis.call('HGET', KEYS[1], 'node') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'auto', ARGV[3])
return 1`);

/** KEYS: user, users. ARGV: name. → [node, ip, status, auto, since] of a live user, or nil. */
export const GET = new LuaScript('get', `${NOW_MS}
local lease = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not lease or tonumber(lease) < now then return false end
local fields = redis.call('HMGET', KEYS[1], 'node', 'ip', 'status', 'auto', 'since')
if not fields[1] then return false end
return fields`);

/** KEYS: users. → names whose lease has not run out. */
export const LIST = new LuaScript('list', `${NOW_MS}
return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')`);

/**
 * KEYS: node, nodes, nodeUsers, users, reapedNode, inbox. ARGV: node, leaseMs, hashTtlMs, userKeyPrefix.
 * Renews the node's lease and its users', opens its inbox (and bounds how long it outlives the node). → 0 alive; 1 lost (first beat,
 * lease run out, or Redis lost its data or went back to an old snapshot,
 * which keeps the node listed but not its expired keys); 2 reaped meanwhile.
 */
export const HEARTBEAT = new LuaScript('heartbeat', `${NOW_MS}
local leaseUntil = now + tonumber(ARGV[2])
local leased = redis.call('EXISTS', KEYS[1]) == 1
-- The lease's value says how the node takes private messages: from its
-- inbox stream, entries of one or more envelopes (see redis-inbox.ts).
redis.call('SET', KEYS[1], 'inbox:2', 'PX', ARGV[2])
local listed = redis.call('ZADD', KEYS[2], leaseUntil, ARGV[1]) == 0
local names = redis.call('SMEMBERS', KEYS[3])
for _, name in ipairs(names) do
  local key = ARGV[4] .. name
  if redis.call('HGET', key, 'node') == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[3])
    redis.call('ZADD', KEYS[4], leaseUntil, name)
  else
    redis.call('SREM', KEYS[3], name)
  end
end
if #names > 0 then redis.call('PEXPIRE', KEYS[3], ARGV[3]) end
-- The inbox exists from the first beat until the node is reaped or retires:
-- a message sent along a remembered route can then tell a node that is gone.
if redis.call('EXISTS', KEYS[6]) == 0 then
  redis.call('XDEL', KEYS[6], redis.call('XADD', KEYS[6], '*', 'opened', '1'))
end
redis.call('PEXPIRE', KEYS[6], ARGV[3])
if redis.call('DEL', KEYS[5]) == 1 then return 2 end
if leased and listed then return 0 end
return 1`);

/** KEYS: nodes. ARGV: limit. → ids of nodes whose lease ran out. */
export const EXPIRED_NODES = new LuaScript('expired_nodes', `${NOW_MS}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, ARGV[1])`);

/**
 * KEYS: nodes, node, nodeUsers, users, reapedNode, inbox. ARGV: dead node, userKeyPrefix, tombstoneTtlMs.
 * Claims a dead node for the caller: only the first caller finds it still
 * listed and expired. Leaves a tombstone, so a node that was only stalled
 * learns its users' departures were announced. → the names it removed, or
 * nil when another node won.
 */
export const REAP = new LuaScript('reap', `${NOW_MS}
local lease = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not lease or tonumber(lease) >= now or redis.call('EXISTS', KEYS[2]) == 1 then return false end
redis.call('ZREM', KEYS[1], ARGV[1])
local gone = {}
for _, name in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local key = ARGV[2] .. name
  local owner = redis.call('HGET', key, 'node')
  if owner == ARGV[1] or not owner then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[4], name)
    table.insert(gone, name)
  end
end
redis.call('DEL', KEYS[3], KEYS[6])
redis.call('SET', KEYS[5], '1', 'PX', ARGV[3])
return gone`);

/** KEYS: node, nodes, nodeUsers, inbox. ARGV: node. Withdraws a node that is shutting down. */
export const RETIRE = new LuaScript('retire', `
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1`);
