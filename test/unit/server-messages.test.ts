import { describe, expect, it } from 'vitest';
import { frameType, ServerMessages } from '../../src/protocol/server-messages.js';

const messages = new ServerMessages(() => new Date('2026-11-24T11:04:59.123Z'));
const TS = '"timestamp":"2026-11-24T11:04:59.123Z"';

describe('server frames', () => {
  it('are compact JSON with the fields in protocol order', () => {
    expect(messages.registerSuccess(['ana', 'luis'])).toBe(
      `{"type":"register_success","sender":"server","content":"Registro exitoso","userList":["ana","luis"],${TS}}`,
    );
    expect(messages.broadcast('ana', 'hola')).toBe(`{"type":"broadcast","sender":"ana","content":"hola",${TS}}`);
    expect(messages.private('ana', 'luis', 'psst')).toBe(`{"type":"private","sender":"ana","target":"luis","content":"psst",${TS}}`);
    expect(messages.listUsersResponse(['ana'])).toBe(`{"type":"list_users_response","sender":"server","content":["ana"],${TS}}`);
    expect(messages.userInfoResponse('ana', '203.0.113.9', 'ACTIVO')).toBe(
      `{"type":"user_info_response","sender":"server","target":"ana","content":{"ip":"203.0.113.9","status":"ACTIVO"},${TS}}`,
    );
    expect(messages.statusUpdate('ana', 'OCUPADO')).toBe(
      `{"type":"status_update","sender":"server","content":{"user":"ana","status":"OCUPADO"},${TS}}`,
    );
    expect(messages.userDisconnected('ana')).toBe(`{"type":"user_disconnected","sender":"server","content":"ana ha salido",${TS}}`);
    expect(messages.error('USER_NOT_FOUND')).toBe(
      `{"type":"error","sender":"server","content":"Usuario no encontrado",${TS},"code":"USER_NOT_FOUND"}`,
    );
  });

  it('escape what clients send', () => {
    const frame = messages.broadcast('ana', 'dijo "hola"\n</script>');
    expect(JSON.parse(frame).content).toBe('dijo "hola"\n</script>');
  });

  it('stay small enough for 256-byte client buffers', () => {
    for (const frame of [
      messages.error('INVALID_USERNAME'),
      messages.error('INVALID_STATUS'),
      messages.error('CONTENT_TOO_LONG', 'máximo 2000 caracteres'),
      messages.userInfoResponse('a'.repeat(32), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'INACTIVO'),
    ]) {
      expect(Buffer.byteLength(frame)).toBeLessThan(256);
    }
  });

  it('stamp ISO-8601 UTC with milliseconds', () => {
    const live = JSON.parse(new ServerMessages().broadcast('a', 'b')) as { timestamp: string };
    expect(live.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('name their type for metrics, and anything else only as unknown, so labels stay few', () => {
    expect(frameType(messages.broadcast('ana', 'hola'))).toBe('broadcast');
    expect(frameType(messages.error('USER_NOT_FOUND'))).toBe('error');
    expect(frameType('{"type":"a-new-label-each-time-1234"}')).toBe('unknown');
    expect(frameType('{"content":"x","type":"broadcast"}')).toBe('unknown');
    expect(frameType('')).toBe('unknown');
  });
});
