import { LuaScript, NOW_MS } from './lua-script.js';

/*
 * Atomic presence updates. Lease times come from Redis's own clock (TIME),
 * so nodes with skewed clocks still agree on who is alive.
 *
 * Fencing: every node acts under a generation kept in its fence hash
 * (`gen`, `by`: join | reap | retire, `attempt`: its latest join). The
 * reaper, and a node retiring, move the generation on; every script run on
 * behalf of a node first checks the generation it carries and changes
 * nothing when it is not the current one. A command delayed on the network
 * past the node's reaping (a partition that heals) is therefore harmless,
 * and the node learns at its next heartbeat that it must join again.
 */

/** Lua: -1 and nothing changed unless the fence in KEYS[n] holds the generation in ARGV[m]. */
const fencedBy = (fenceKey: string, genArg: string): string =>
  `if redis.call('HGET', ${fenceKey}, 'gen') ~= ${genArg} then return -1 end`;

/** Reply of a script that refused a command of a generation that is no longer current. */
export const FENCED = -1;

/*
 * Liveness: a user lives as long as the lease of the node that holds it
 * (the node key, renewed by its heartbeat), or, orphaned, until its window
 * ends. A beat then costs the same whatever the node holds: renewing a
 * lease per user took Redis about 8 µs per user at every beat, 0.5 s per
 * beat for a node of 50,000 users, during which Redis served nobody else.
 *
 * The `users` sorted set is kept for nodes of the version before, which
 * read its scores as the users' leases and renew those of their own users:
 * this version scores its users HELD_BY_NODE, a time that never comes, so
 * that they see them live; they go with their node (released, reaped,
 * retired) as before.
 */

/** `users` score of a user that lives as long as its node: 2^52 ms, a time that never comes. */
export const HELD_BY_NODE = '4503599627370496';

/**
 * Lua prologue: liveUser(key) is true when the user of that hash lives: its
 * node's lease runs, or, orphaned (node ''), its window (`rdl`) has not
 * ended. ARGV given holds the node key prefix. After NOW_MS.
 */
const liveUser = (nodePrefixArg: string): string => `
local function liveUser(key)
  local fields = redis.call('HMGET', key, 'node', 'rdl')
  if not fields[1] then return false end
  if fields[1] == '' then return tonumber(fields[2] or '0') >= now end
  return redis.call('EXISTS', ${nodePrefixArg} .. fields[1]) == 1
end`;

/**
 * Lua prologue, after liveUser: abandoned(key) is true when the user hash
 * is left over: its node is neither live nor listed for a reaper (it
 * retired with the name still held, its release having failed), so
 * nobody will ever remove it. Such a name is free at once, instead of
 * for as long as the hash's TTL. An orphan, or the user of a dead node
 * not yet reaped, is not: its departure is still to be announced.
 */
const abandoned = (nodesKey: string): string => `
local function abandoned(key)
  local node = redis.call('HGET', key, 'node')
  if not node or node == '' or liveUser(key) then return false end
  return redis.call('ZSCORE', ${nodesKey}, node) == false
end`;

/*
 * Looks: a name's UTS #39 skeleton (protocol/username.ts) is claimed with
 * it, in `look:{skeleton}` → the name, so two names that look alike cannot
 * be held at once. The user hash keeps its look (field `look`) so that
 * whoever removes the user removes the look with it. A look whose holder
 * is no longer live (its lease ran out unreaped) blocks nobody.
 */

/** Lua: 0 (taken) when the look in KEYS[n] is held by another live name (see liveUser); ARGV: name, user key prefix. */
const lookFreeFor = (lookKey: string, nameArg: string, userPrefixArg: string): string => `
local looker = redis.call('GET', ${lookKey})
if looker and looker ~= ${nameArg} and liveUser(${userPrefixArg} .. looker) then return 0 end`;

/** Lua: deletes the look of the user hash in KEYS[n] if it still points at the name in ARGV[m]. */
const dropLookOf = (userKey: string, nameArg: string, lookPrefixArg: string): string => `
local look = redis.call('HGET', ${userKey}, 'look')
if look and redis.call('GET', ${lookPrefixArg} .. look) == ${nameArg} then redis.call('DEL', ${lookPrefixArg} .. look) end`;

/*
 * Resumable users: their hash also keeps the grant (`rtok`, the SHA-256 of
 * the client's token; `rwin`, the window) and, while their connection is
 * gone, when the window ends (`rdl`). A resumable user whose node died or
 * retired is not removed but orphaned: `node` is empty, and it stays listed
 * until its window ends (`users` and `orphans` scores), when the reaper
 * removes it and its departure is announced.
 */

/** Lua: orphans the resumable user of the hash in `keyVar` until its window ends; KEYS/ARGV given for users, orphans, hashTtlMs. */
const orphan = (keyVar: string, nameVar: string, usersKey: string, orphansKey: string, hashTtlArg: string): string => `
do
  local deadline = tonumber(redis.call('HGET', ${keyVar}, 'rdl') or (now + tonumber(redis.call('HGET', ${keyVar}, 'rwin'))))
  redis.call('HSET', ${keyVar}, 'node', '', 'rdl', string.format('%d', deadline))
  redis.call('PEXPIRE', ${keyVar}, math.max(deadline - now, 0) + tonumber(${hashTtlArg}))
  redis.call('ZADD', ${usersKey}, deadline, ${nameVar})
  redis.call('ZADD', ${orphansKey}, deadline, ${nameVar})
end`;

/**
 * KEYS: user, users, nodeUsers, fence, look, userLog, nodes. ARGV: name, node, ip, nodeKeyPrefix, hashTtlMs, gen, look, userKeyPrefix, tokenHash ('' when not resumable), windowMs.
 * → 1 claimed, 0 taken (the name, or a name that looks the same), -1 fenced.
 */
export const CLAIM = new LuaScript('claim', 7, `${NOW_MS}${liveUser('ARGV[4]')}${abandoned('KEYS[7]')}
${fencedBy('KEYS[4]', 'ARGV[6]')}
if redis.call('EXISTS', KEYS[1]) == 1 then
  if not abandoned(KEYS[1]) then return 0 end
  redis.call('DEL', KEYS[1])
end
${lookFreeFor('KEYS[5]', 'ARGV[1]', 'ARGV[8]')}
redis.call('SET', KEYS[5], ARGV[1])
redis.call('HSET', KEYS[1], 'node', ARGV[2], 'ip', ARGV[3], 'status', 'ACTIVO', 'auto', '0', 'since', now, 'look', ARGV[7])
if ARGV[9] ~= '' then
  redis.call('HSET', KEYS[1], 'rtok', ARGV[9], 'rwin', ARGV[10])
  -- A log left by an earlier user of the name is not this one's to resume.
  redis.call('DEL', KEYS[6])
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], '${HELD_BY_NODE}', ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return 1`);

/**
 * KEYS: user, users, nodeUsers, fence, look, orphans, nodes. ARGV: name, node, ip, nodeKeyPrefix, hashTtlMs, status, auto (0|1), gen, look, userKeyPrefix.
 * Like CLAIM, but a name this node still holds is renewed, keeping its
 * registration time, and so is one orphaned while this node was cut off
 * (nobody saw it leave). → 1 taken back, 2 still held by this node, 3
 * orphaned and adopted back, 0 held by another (or a look-alike taken
 * meanwhile), -1 fenced.
 */
export const RECLAIM = new LuaScript('reclaim', 7, `${NOW_MS}${liveUser('ARGV[4]')}${abandoned('KEYS[7]')}
${fencedBy('KEYS[4]', 'ARGV[8]')}
if abandoned(KEYS[1]) then redis.call('DEL', KEYS[1]) end
local owner = redis.call('HGET', KEYS[1], 'node')
if owner and owner ~= '' and owner ~= ARGV[2] then return 0 end
${lookFreeFor('KEYS[5]', 'ARGV[1]', 'ARGV[10]')}
redis.call('SET', KEYS[5], ARGV[1])
redis.call('HSET', KEYS[1], 'look', ARGV[9])
if not owner then redis.call('HSET', KEYS[1], 'since', now) end
redis.call('HSET', KEYS[1], 'node', ARGV[2], 'ip', ARGV[3], 'status', ARGV[6], 'auto', ARGV[7])
redis.call('HDEL', KEYS[1], 'rdl')
local orphaned = redis.call('ZREM', KEYS[6], ARGV[1]) == 1 or owner == ''
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], '${HELD_BY_NODE}', ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
if orphaned then return 3 end
if owner then return 2 end
return 1`);

/** KEYS: user, users, nodeUsers, fence. ARGV: name, node, gen, lookKeyPrefix. → 1 released, 0 not held by this node, -1 fenced. */
export const RELEASE = new LuaScript('release', 4, `
${fencedBy('KEYS[4]', 'ARGV[3]')}
redis.call('SREM', KEYS[3], ARGV[1])
if redis.call('HGET', KEYS[1], 'node') ~= ARGV[2] then return 0 end
${dropLookOf('KEYS[1]', 'ARGV[1]', 'ARGV[4]')}
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1`);

/** KEYS: user, fence. ARGV: node, status, auto (0|1), gen. → 1 stored, 0 not held by this node, -1 fenced. */
export const SET_STATUS = new LuaScript('set_status', 2, `
${fencedBy('KEYS[2]', 'ARGV[4]')}
if redis.call('HGET', KEYS[1], 'node') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'auto', ARGV[3])
return 1`);

/** KEYS: user. ARGV: nodeKeyPrefix. → [node ('' when orphaned), ip, status, auto, since] of a live user (see liveUser), or nil. */
export const GET = new LuaScript('get', 1, `${NOW_MS}${liveUser('ARGV[1]')}
if not liveUser(KEYS[1]) then return false end
return redis.call('HMGET', KEYS[1], 'node', 'ip', 'status', 'auto', 'since')`);

/**
 * KEYS: nodes, orphans. ARGV: nodeKeyPrefix. → the live users: those of
 * every node whose lease runs (its set of names), and the orphans whose
 * window has not ended. No user is read one by one.
 */
export const LIST = new LuaScript('list', 2, `${NOW_MS}
local names = redis.call('ZRANGEBYSCORE', KEYS[2], now, '+inf')
for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')) do
  if redis.call('EXISTS', ARGV[1] .. node) == 1 then
    for _, name in ipairs(redis.call('SMEMBERS', ARGV[1] .. node .. ':users')) do names[#names + 1] = name end
  end
end
return names`);

/**
 * KEYS: fence, inbox, parkedInbox. ARGV: attempt (grows with each join of this node), fenceTtlMs.
 * Starts a new generation for the node: at its first beat, and whenever it
 * finds it was fenced. A join delayed past a later one changes nothing.
 * The inbox its reaper parked comes back, so the node reads what was sent
 * to its users before the reaping, from where it left off.
 * → [generation, what set the fence before ('' none, join, reap, retire)],
 * or [-1, latest attempt] when a later join already ran.
 */
export const JOIN = new LuaScript('join', 3, `${NOW_MS}
local attempt = tonumber(redis.call('HGET', KEYS[1], 'attempt') or '0')
if attempt >= tonumber(ARGV[1]) then return {-1, tostring(attempt)} end
local before = redis.call('HGET', KEYS[1], 'by') or ''
-- Never a generation used before, even when Redis lost the fence: Redis's clock moves on.
local gen = math.max(tonumber(redis.call('HGET', KEYS[1], 'gen') or '0') + 1, now)
redis.call('HSET', KEYS[1], 'gen', string.format('%d', gen), 'by', 'join', 'attempt', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if redis.call('EXISTS', KEYS[3]) == 1 and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('RENAME', KEYS[3], KEYS[2])
end
return {gen, before}`);

/**
 * KEYS: node, nodes, nodeUsers, fence, inbox, legacyReapedMarker. ARGV: node, leaseMs, hashTtlMs, userKeyPrefix, gen, fenceTtlMs, localUsers ('' unknown), inboxHere ('0' when the inbox lies in other slots), renewal cursor ('0' starts a pass over the users), renewal share (of the users a beat renews at least), inboxTtlMs.
 * Renews the node's lease, and with it its users' (see liveUser), opens
 * its inbox (and bounds how long it outlives the node). The TTLs of the
 * user hashes, a bound for what no reaper removes, are long: each beat
 * renews a slice of them (`SSCAN` from the cursor given, at least 100
 * users or the share given), so no beat holds Redis up for long whatever
 * the node holds. → [outcome, the cursor for the next beat]; outcome 0 alive; 1 lost (lease run out, or Redis
 * went back to an old snapshot, which keeps the node listed but not its
 * expired keys, or holds fewer of its users than it has: a failover to a
 * replica that had not received them); 2 reaped by a node of the previous version, which leaves
 * a marker instead of moving the fence; -1 fenced (reaped, or Redis lost
 * the fence): the node must join again, and nothing was renewed.
 */
export const HEARTBEAT = new LuaScript('heartbeat', 6, `${NOW_MS}
${fencedBy('KEYS[4]', 'ARGV[5]')}
redis.call('PEXPIRE', KEYS[4], ARGV[6])
local leased = redis.call('EXISTS', KEYS[1]) == 1
-- The lease's value says how the node takes private messages (see
-- redis-inbox.ts): from its inbox stream, entries of one or more envelopes;
-- from the stripes of its inbox, in other slots, on a Redis Cluster.
redis.call('SET', KEYS[1], ARGV[8] == '0' and 'inbox:3' or 'inbox:2', 'PX', ARGV[2])
local listed = redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1]) == 0
local held = redis.call('SCARD', KEYS[3])
local slice = redis.call('SSCAN', KEYS[3], ARGV[9], 'COUNT', math.max(100, math.ceil(held * tonumber(ARGV[10]))))
for _, name in ipairs(slice[2]) do
  local key = ARGV[4] .. name
  if redis.call('HGET', key, 'node') == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[3])
  else
    -- Not its own any more (another node's since, or gone).
    held = held - redis.call('SREM', KEYS[3], name)
  end
end
if held > 0 then redis.call('PEXPIRE', KEYS[3], ARGV[3]) end
-- The inbox exists from the first beat until the node is reaped or retires:
-- a message sent along a remembered route can then tell a node that is gone.
-- (Unless it lies in other slots, on a Redis Cluster: see inbox-stripe-upkeep.ts.)
if ARGV[8] ~= '0' then
  if redis.call('EXISTS', KEYS[5]) == 0 then
    redis.call('XDEL', KEYS[5], redis.call('XADD', KEYS[5], '*', 'opened', '1'))
  end
  redis.call('PEXPIRE', KEYS[5], ARGV[11])
end
local cursor = slice[1]
if redis.call('DEL', KEYS[6]) == 1 then return {2, cursor} end
if ARGV[7] ~= '' and held < tonumber(ARGV[7]) then return {1, cursor} end
if leased and listed then return {0, cursor} end
return {1, cursor}`);

/**
 * KEYS: nodes, loads. → [live node ids, their reported loads] (a load is
 * nil for a node that has not reported yet); the loads of nodes no longer
 * live are dropped on the way, so the hash never outgrows the cluster.
 */
export const LOADS = new LuaScript('loads', 2, `${NOW_MS}
local alive = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
local live = {}
for _, node in ipairs(alive) do live[node] = true end
for _, node in ipairs(redis.call('HKEYS', KEYS[2])) do
  if not live[node] then redis.call('HDEL', KEYS[2], node) end
end
if #alive == 0 then return {{}, {}} end
return {alive, redis.call('HMGET', KEYS[2], unpack(alive))}`);

/** KEYS: nodes. ARGV: limit. → ids of nodes whose lease ran out. */
export const EXPIRED_NODES = new LuaScript('expired_nodes', 1, `${NOW_MS}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, ARGV[1])`);

/**
 * KEYS: nodes, node, nodeUsers, users, fence, inbox, legacyReapedMarker, parkedInbox, orphans. ARGV: dead node, userKeyPrefix, fenceTtlMs, parkedTtlMs, lookKeyPrefix, hashTtlMs.
 * Claims a dead node for the caller: only the first caller finds it still
 * listed and expired. Fences it, so that nothing it sent before can change
 * anything now, and a node that was only cut off learns at its next beat
 * that its users' departures were announced. Its inbox is parked, not
 * dropped: nothing more can be appended (senders learn the node is gone),
 * and a node that was only cut off gets back, when it joins again, what was
 * sent to its users before. Its resumable users are orphaned, not
 * removed. → the names it removed, or nil when another node won.
 */
export const REAP = new LuaScript('reap', 9, `${NOW_MS}
local lease = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not lease or tonumber(lease) >= now or redis.call('EXISTS', KEYS[2]) == 1 then return false end
redis.call('ZREM', KEYS[1], ARGV[1])
local gone = {}
for _, name in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local key = ARGV[2] .. name
  local owner = redis.call('HGET', key, 'node')
  if owner == ARGV[1] and redis.call('HEXISTS', key, 'rwin') == 1 then
    ${orphan('key', 'name', 'KEYS[4]', 'KEYS[9]', 'ARGV[6]')}
  elseif owner == ARGV[1] or not owner then
    ${dropLookOf('key', 'name', 'ARGV[5]')}
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[4], name)
    table.insert(gone, name)
  end
end
redis.call('DEL', KEYS[3])
if redis.call('EXISTS', KEYS[6]) == 1 then
  redis.call('RENAME', KEYS[6], KEYS[8])
  redis.call('PEXPIRE', KEYS[8], ARGV[4])
end
local gen = tonumber(redis.call('HGET', KEYS[5], 'gen') or '0') + 1
redis.call('HSET', KEYS[5], 'gen', string.format('%d', gen), 'by', 'reap')
redis.call('PEXPIRE', KEYS[5], ARGV[3])
-- What a node of the previous version looks for instead of its fence.
redis.call('SET', KEYS[7], '1', 'PX', ARGV[3])
return gone`);

/**
 * KEYS: node, nodes, nodeUsers, inbox, fence, users, orphans. ARGV: node, gen, fenceTtlMs, userKeyPrefix, hashTtlMs.
 * Withdraws a node that is shutting down, and fences it. Its users have
 * left, but for the resumable ones, which are orphaned: they wait out
 * their window. → 1, or -1 fenced.
 */
export const RETIRE = new LuaScript('retire', 7, `${NOW_MS}
${fencedBy('KEYS[5]', 'ARGV[2]')}
for _, name in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local key = ARGV[4] .. name
  if redis.call('HGET', key, 'node') == ARGV[1] and redis.call('HEXISTS', key, 'rwin') == 1 then
    ${orphan('key', 'name', 'KEYS[6]', 'KEYS[7]', 'ARGV[5]')}
  end
end
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[5], 'gen', string.format('%d', tonumber(ARGV[2]) + 1), 'by', 'retire')
redis.call('PEXPIRE', KEYS[5], ARGV[3])
return 1`);

/**
 * KEYS: user, fence. ARGV: node, gen.
 * A resumable user of this node lost its connection: its window starts.
 * → 1 suspended, 0 not this node's (or not resumable), -1 fenced.
 */
export const SUSPEND = new LuaScript('suspend', 2, `${NOW_MS}
${fencedBy('KEYS[2]', 'ARGV[2]')}
local fields = redis.call('HMGET', KEYS[1], 'node', 'rwin')
if fields[1] ~= ARGV[1] or not fields[2] then return 0 end
redis.call('HSET', KEYS[1], 'rdl', string.format('%d', now + tonumber(fields[2])))
return 1`);

/**
 * KEYS: user, users, nodeUsers, fence, orphans. ARGV: name, node, ip, tokenHash, newTokenHash, windowMs, gen, hashTtlMs, nodeKeyPrefix.
 * Moves a resumable user to this node when the token shown is the one
 * granted, from a node alive or dead, or from the orphans; the grant is
 * replaced. → [node that held it ('' none), status, auto], 0 refused, -1 fenced.
 */
export const RESUME = new LuaScript('resume', 5, `${NOW_MS}
${fencedBy('KEYS[4]', 'ARGV[7]')}
local fields = redis.call('HMGET', KEYS[1], 'node', 'rtok', 'status', 'auto')
if not fields[1] or fields[2] ~= ARGV[4] then return 0 end
local from = fields[1]
if from ~= '' and from ~= ARGV[2] then redis.call('SREM', ARGV[9] .. from .. ':users', ARGV[1]) end
redis.call('HSET', KEYS[1], 'node', ARGV[2], 'ip', ARGV[3], 'rtok', ARGV[5], 'rwin', ARGV[6])
redis.call('HDEL', KEYS[1], 'rdl')
redis.call('PEXPIRE', KEYS[1], ARGV[8])
redis.call('ZADD', KEYS[2], '${HELD_BY_NODE}', ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[8])
return {from, fields[3], fields[4]}`);

/**
 * KEYS: user, fence. ARGV: node, gen.
 * A suspended user's window ran out on its node: the grant is withdrawn,
 * so nobody resumes it while its departure is announced. → 1, 0 not this
 * node's, -1 fenced.
 */
export const END_SUSPENSION = new LuaScript('end_suspension', 2, `
${fencedBy('KEYS[2]', 'ARGV[2]')}
if redis.call('HGET', KEYS[1], 'node') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'rtok', 'rwin', 'rdl')
return 1`);

/**
 * KEYS: orphans, users. ARGV: userKeyPrefix, lookKeyPrefix, limit.
 * Removes the orphans whose window ended unresumed; one caller gets each.
 * → their names, for their departures to be announced.
 */
export const EXPIRE_ORPHANS = new LuaScript('expire_orphans', 2, `${NOW_MS}
local gone = {}
for _, name in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, ARGV[3])) do
  redis.call('ZREM', KEYS[1], name)
  local key = ARGV[1] .. name
  local owner = redis.call('HGET', key, 'node')
  if owner == '' or not owner then
    if owner then
      ${dropLookOf('key', 'name', 'ARGV[2]')}
      redis.call('DEL', key)
    end
    redis.call('ZREM', KEYS[2], name)
    table.insert(gone, name)
  end
end
return gone`);
