import type { RedisClient } from './connection.js';
import { decodeEnvelope, type DirectEnvelope, type RoomEnvelope } from '../envelope.js';
import { compareEntryIds } from '../../protocol/positions.js';
import type { Missed, ResumePositions, Retention } from '../ports.js';
import { toBackendError } from './backend-error.js';
import type { RedisKeys } from './keys.js';

type LogEntry = [id: string, fields: string[]];

/**
 * Reads what a resuming user missed from the room log and its own log, from
 * the positions its client gives, each read including the position itself:
 * finding it (or, for a user's log, the marker it begins with) shows that
 * nothing between was trimmed away.
 */
export async function readMissed(redis: RedisClient, keys: RedisKeys, user: string, since: ResumePositions, retention: Retention): Promise<Missed> {
  const inboxFrom = since.inbox ?? '0-0';
  let replies: [Error | null, unknown][] | null;
  try {
    const pipeline = redis.pipeline();
    if (since.room !== undefined) pipeline.xrange(keys.roomLog, since.room, '+', 'COUNT', 2 * retention.roomLogLength);
    pipeline.xrange(keys.userLog(user), inboxFrom === '0-0' ? '-' : inboxFrom, '+', 'COUNT', 2 * retention.userLogLength);
    replies = await pipeline.exec();
  } catch (err) {
    throw toBackendError(err);
  }
  const results = (replies ?? []).map(([err, value]) => {
    if (err) throw toBackendError(err);
    return value as LogEntry[];
  });
  const roomEntries = since.room === undefined ? undefined : results.shift()!;
  const userEntries = results.shift() ?? [];

  const room: RoomEnvelope[] = [];
  for (const [id, fields] of roomEntries ?? []) {
    if (since.room === undefined || compareEntryIds(id, since.room) <= 0) continue;
    const envelope = fields[0] === 'e' ? decodeEnvelope(fields[1] ?? '') : undefined;
    if (envelope?.kind === 'room' && envelope.except !== user) room.push({ ...envelope, entry: id });
  }
  const direct: DirectEnvelope[] = [];
  for (const [id, fields] of userEntries) {
    if (compareEntryIds(id, inboxFrom) <= 0) continue;
    const envelope = fields[0] === 'e' ? decodeEnvelope(fields[1] ?? '') : undefined;
    if (envelope?.kind === 'direct') direct.push({ ...envelope, at: id });
  }
  const roomComplete = since.room === undefined || roomEntries?.[0]?.[0] === since.room;
  const first = userEntries[0];
  const userComplete = first === undefined || first[0] === inboxFrom || first[1][0] === 'm';
  return { room, direct, complete: roomComplete && userComplete };
}
