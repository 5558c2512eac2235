import { describe, expect, it } from 'vitest';
import { parseServerFrame } from '../../src/protocol/server-frames.js';
import { ServerMessages } from '../../src/protocol/server-messages.js';

describe('parseServerFrame', () => {
  const messages = new ServerMessages(() => new Date('2026-11-24T11:04:59.123Z'));

  it('reads every frame the server builds', () => {
    const frames = [
      messages.registerSuccess(['ana', 'luis']),
      messages.broadcast('ana', 'hola'),
      messages.private('ana', 'luis', 'psst'),
      messages.listUsersResponse(['ana']),
      messages.userInfoResponse('ana', '203.0.113.9', 'OCUPADO'),
      messages.statusUpdate('ana', 'INACTIVO'),
      messages.userDisconnected('ana'),
      messages.error('USER_NOT_FOUND'),
    ];
    const parsed = frames.map((text) => parseServerFrame(text));
    expect(parsed.every((result) => result.ok)).toBe(true);
    expect(parsed.map((result) => (result.ok ? result.frame.type : result.reason))).toEqual([
      'register_success',
      'broadcast',
      'private',
      'list_users_response',
      'user_info_response',
      'status_update',
      'user_disconnected',
      'error',
    ]);
  });

  it('names the user who left', () => {
    const result = parseServerFrame(messages.userDisconnected('José.M'));
    expect(result).toMatchObject({ ok: true, frame: { type: 'user_disconnected', user: 'José.M' } });
  });

  it('keeps the error code', () => {
    expect(parseServerFrame(messages.error('USERNAME_TAKEN'))).toMatchObject({
      ok: true,
      frame: { type: 'error', code: 'USERNAME_TAKEN', content: 'El usuario ya existe' },
    });
  });

  it('refuses frames that break the protocol instead of passing them on', () => {
    expect(parseServerFrame('nope').ok).toBe(false);
    expect(parseServerFrame('[1]').ok).toBe(false);
    expect(parseServerFrame('{"type":"teleport"}').ok).toBe(false);
    expect(parseServerFrame('{"type":"broadcast","sender":"ana"}').ok).toBe(false);
    expect(parseServerFrame('{"type":"status_update","content":{"user":"ana","status":"DORMIDO"}}').ok).toBe(false);
  });
});
