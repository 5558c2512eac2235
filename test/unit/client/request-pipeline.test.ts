import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChatClientError } from '../../../src/client/client-error.js';
import { RequestPipeline, type Request } from '../../../src/client/request-pipeline.js';
import {
  broadcastRequest,
  changeStatusRequest,
  listUsersRequest,
  privateRequest,
  userInfoRequest,
} from '../../../src/client/requests.js';
import type { ErrorFrame, ServerFrame } from '../../../src/protocol/server-frames.js';
import type { ClientMessage } from '../../../src/protocol/client-messages.js';

const timestamp = '2026-11-24T11:04:59.123Z';
const error = (code: string): ErrorFrame => ({ type: 'error', content: code, code, timestamp });
const listResponse = (users: string[]): ServerFrame => ({ type: 'list_users_response', content: users, timestamp });
const echo = (sender: string, content: string): ServerFrame => ({ type: 'broadcast', sender, content, timestamp });
const statusUpdate = (user: string, status: 'ACTIVO' | 'OCUPADO'): ServerFrame => ({
  type: 'status_update',
  content: { user, status },
  timestamp,
});
const infoResponse = (target: string): ServerFrame => ({
  type: 'user_info_response',
  target,
  content: { ip: '192.0.2.1', status: 'ACTIVO' },
  timestamp,
});

/** What a promise settled with, for assertions that read like the protocol. */
function outcome<T>(promise: Promise<T>): { value?: T; error?: string } {
  const seen: { value?: T; error?: string } = {};
  promise.then(
    (value) => (seen.value = value),
    (err: ChatClientError) => (seen.error = err.code),
  );
  return seen;
}

describe('RequestPipeline', () => {
  let sent: ClientMessage[];
  let timeouts: ChatClientError[];
  let pipeline: RequestPipeline;
  const submit = <T>(request: Request<T>) => outcome(pipeline.submit(request));
  const sentTypes = () => sent.map((message) => message.type);

  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    timeouts = [];
    pipeline = new RequestPipeline(
      {
        transmit: (message) => sent.push(message),
        confirmation: () => userInfoRequest('ana'),
        timedOut: (err) => timeouts.push(err),
      },
      1000,
    );
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends directly answered requests at once and gives each its answer or, in order, its error', async () => {
    const list = submit(listUsersRequest());
    const missing = submit(userInfoRequest('nadie'));
    const luis = submit(userInfoRequest('luis'));
    expect(sentTypes()).toEqual(['list_users', 'user_info', 'user_info']);
    pipeline.takeAnswer(listResponse(['ana', 'luis']));
    expect(pipeline.takeError(error('USER_NOT_FOUND'))).toBe(true);
    pipeline.takeAnswer(infoResponse('luis'));
    await vi.runAllTimersAsync();
    expect(list).toEqual({ value: ['ana', 'luis'] });
    expect(missing).toEqual({ error: 'USER_NOT_FOUND' });
    expect(luis.value).toMatchObject({ name: 'luis', status: 'ACTIVO' });
  });

  it('follows a private message with a confirmation, whose answer shows the message went through', async () => {
    const message = submit(privateRequest('luis', 'hola'));
    expect(sentTypes()).toEqual(['private', 'user_info']);
    expect(pipeline.takeAnswer(infoResponse('ana'))).toBe(true);
    await vi.runAllTimersAsync();
    expect(message).toEqual({ value: undefined });
  });

  it('gives a private message its error, ahead of the confirmation', async () => {
    const lost = submit(privateRequest('nadie', 'hola'));
    const delivered = submit(privateRequest('luis', 'hola'));
    expect(sentTypes()).toEqual(['private', 'user_info', 'private', 'user_info']);
    expect(pipeline.takeError(error('USER_NOT_FOUND'))).toBe(true);
    pipeline.takeAnswer(infoResponse('ana'));
    pipeline.takeAnswer(infoResponse('ana'));
    await vi.runAllTimersAsync();
    expect(lost).toEqual({ error: 'USER_NOT_FOUND' });
    expect(delivered).toEqual({ value: undefined });
  });

  it('holds later requests back until a broadcast\'s echo came back, since echoes do not keep their place', async () => {
    const broadcast = submit(broadcastRequest('ana', 'hola'));
    const list = submit(listUsersRequest());
    expect(sentTypes()).toEqual(['broadcast']);
    expect(pipeline.takeAnswer(echo('luis', 'hola'))).toBe(false);
    expect(pipeline.takeAnswer(echo('ana', 'hola'))).toBe(true);
    expect(sentTypes()).toEqual(['broadcast', 'list_users']);
    pipeline.takeAnswer(listResponse(['ana']));
    await vi.runAllTimersAsync();
    expect(broadcast).toEqual({ value: undefined });
    expect(list).toEqual({ value: ['ana'] });
  });

  it('releases the queue when the fenced request fails instead', async () => {
    const empty = submit(broadcastRequest('ana', ' '));
    const status = submit(changeStatusRequest('ana', 'OCUPADO'));
    pipeline.takeError(error('EMPTY_CONTENT'));
    expect(sentTypes()).toEqual(['broadcast', 'change_status']);
    expect(pipeline.takeAnswer(statusUpdate('luis', 'OCUPADO'))).toBe(false);
    expect(pipeline.takeAnswer(statusUpdate('ana', 'OCUPADO'))).toBe(true);
    await vi.runAllTimersAsync();
    expect(empty).toEqual({ error: 'EMPTY_CONTENT' });
    expect(status).toEqual({ value: undefined });
  });

  it('gives RATE_LIMITED, like every error, to the oldest request in flight: the node refuses in line', async () => {
    const list = submit(listUsersRequest());
    const info = submit(userInfoRequest('luis'));
    pipeline.takeAnswer(listResponse(['ana', 'luis']));
    pipeline.takeError(error('RATE_LIMITED'));
    await vi.runAllTimersAsync();
    expect(list).toEqual({ value: ['ana', 'luis'] });
    expect(info).toEqual({ error: 'RATE_LIMITED' });
  });

  it('blames a refusal after a private message on the private message, whose confirmation is then answered', async () => {
    const sent = submit(privateRequest('luis', 'hola'));
    expect(sentTypes()).toEqual(['private', 'user_info']);
    expect(pipeline.takeError(error('RATE_LIMITED'))).toBe(true);
    pipeline.takeAnswer(infoResponse('ana'));
    await vi.runAllTimersAsync();
    expect(sent).toEqual({ error: 'RATE_LIMITED' });
  });

  it('reports an error nothing was waiting for, or one that refused a confirmation, as not taken', () => {
    expect(pipeline.takeError(error('INTERNAL_ERROR'))).toBe(false);
    void pipeline.submit(privateRequest('luis', 'hola')).catch(() => undefined);
    pipeline.takeAnswer(infoResponse('nadie'));
    expect(pipeline.takeError(error('INTERNAL_ERROR'))).toBe(true);
    expect(pipeline.takeError(error('BACKEND_UNAVAILABLE'))).toBe(false);
  });

  it('leaves an error the server announces before closing to no request: it answers none of them', async () => {
    const list = submit(listUsersRequest());
    expect(pipeline.takeError(error('NAME_LOST'))).toBe(false);
    expect(pipeline.takeError(error('REGISTRATION_TIMEOUT'))).toBe(false);
    pipeline.takeAnswer(listResponse(['ana']));
    await vi.runAllTimersAsync();
    expect(list).toEqual({ value: ['ana'] });
  });

  it('rejects a request that must be answered when a later one is answered first', async () => {
    const info = submit(userInfoRequest('luis'));
    const list = submit(listUsersRequest());
    pipeline.takeAnswer(listResponse([]));
    await vi.runAllTimersAsync();
    expect(info).toEqual({ error: 'NO_ANSWER' });
    expect(list).toEqual({ value: [] });
  });

  it('gives up on the connection when a request is not answered in time', async () => {
    const slow = submit(listUsersRequest());
    const queued = submit(broadcastRequest('ana', 'hola'));
    await vi.advanceTimersByTimeAsync(1000);
    expect(slow).toEqual({ error: 'TIMEOUT' });
    expect(queued).toEqual({ error: 'CONNECTION_CLOSED' });
    expect(timeouts.map((err) => err.code)).toEqual(['TIMEOUT']);
    await expect(pipeline.submit(listUsersRequest())).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
  });

  it('fails everything, sent or not, when the connection is gone', async () => {
    const broadcast = submit(broadcastRequest('ana', 'hola'));
    const list = submit(listUsersRequest());
    pipeline.close(new ChatClientError('CONNECTION_CLOSED', 'closed'));
    await vi.runAllTimersAsync();
    expect(broadcast).toEqual({ error: 'CONNECTION_CLOSED' });
    expect(list).toEqual({ error: 'CONNECTION_CLOSED' });
    expect(timeouts).toEqual([]);
  });
});
