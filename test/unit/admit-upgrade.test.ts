import { describe, expect, it } from 'vitest';
import { capacityRefusal, handshakeRefusal, REFUSALS, screenUpgrade } from '../../src/transport/admit-upgrade.js';

/** The sample handshake of RFC 6455, 1.3. */
const handshake = { method: 'get', upgrade: 'websocket', connection: 'Upgrade', version: '13', key: 'dGhlIHNhbXBsZSBub25jZQ==' };

const open = { accepting: true, allowedOrigins: new Set<string>(), authRequired: false };
const guarded = { accepting: true, allowedOrigins: new Set(['https://chat.example.com']), authRequired: true };

describe('the opening handshake', () => {
  it('takes a GET with Upgrade: websocket, Connection: Upgrade, version 13 and a 16-byte key, in any case and among other tokens', () => {
    expect(handshakeRefusal(handshake)).toBeUndefined();
    expect(handshakeRefusal({ ...handshake, upgrade: 'WebSocket', connection: 'keep-alive, upgrade' })).toBeUndefined();
  });

  it('refuses with 400 what is not one: another method, no Upgrade or Connection token, a key that is not 16 bytes of base64', () => {
    const malformed = [
      { method: 'post' },
      { upgrade: '' },
      { upgrade: 'h2c' },
      { connection: 'keep-alive' },
      { key: '' },
      { key: 'not base64 at all, 24ch' },
      { key: 'dGhlIHNhbXBsZSBub25jZQ' }, // no padding
      { key: 'dGhlIHNhbXBsZSBub25jZR==' }, // bits past the 16th byte
      { key: 'dGhlIHNhbXBsZSBub25jZSBsb25nZXI=' }, // 23 bytes
    ];
    for (const change of malformed) expect(handshakeRefusal({ ...handshake, ...change }), JSON.stringify(change)).toBe(REFUSALS.badHandshake);
  });

  it('answers another protocol version with 426 and the version it speaks', () => {
    for (const version of ['8', '', '13, 8', '14']) {
      expect(handshakeRefusal({ ...handshake, version })).toEqual({
        status: '426 Upgrade Required',
        reason: 'bad_version',
        headers: { 'sec-websocket-version': '13' },
      });
    }
  });

  it('is checked before anything else: a malformed request to a node that is not serving is still a 400', () => {
    expect(screenUpgrade({ handshake: { ...handshake, key: 'x' }, origin: '', token: undefined }, { ...open, accepting: false })).toEqual({
      verdict: 'refuse',
      refusal: REFUSALS.badHandshake,
    });
  });
});

describe('screening an upgrade', () => {
  it('admits any client of an open node, with or without an origin', () => {
    expect(screenUpgrade({ handshake, origin: '', token: undefined }, open)).toEqual({ verdict: 'admit' });
    expect(screenUpgrade({ handshake, origin: 'https://elsewhere.example', token: undefined }, open)).toEqual({ verdict: 'admit' });
  });

  it('refuses everyone with 503 while the node is not serving', () => {
    expect(screenUpgrade({ handshake, origin: 'https://chat.example.com', token: 't' }, { ...guarded, accepting: false })).toEqual({
      verdict: 'refuse',
      refusal: REFUSALS.notServing,
    });
  });

  it('refuses a browser from an origin not on the list with 403, before looking at its credential', () => {
    expect(screenUpgrade({ handshake, origin: 'https://evil.example', token: 't' }, guarded)).toEqual({ verdict: 'refuse', refusal: REFUSALS.origin });
  });

  it('asks for a credential when authentication is on: 401 without one, verification with one', () => {
    expect(screenUpgrade({ handshake, origin: '', token: undefined }, guarded)).toEqual({ verdict: 'refuse', refusal: REFUSALS.unauthorized });
    expect(screenUpgrade({ handshake, origin: 'https://chat.example.com', token: 'abc' }, guarded)).toEqual({ verdict: 'verify', token: 'abc' });
  });

  it('turns the connection caps into 503 for a full node and 429 for a full address', () => {
    expect(capacityRefusal('ok')).toBeUndefined();
    expect(capacityRefusal('node_full')).toEqual({ status: '503 Service Unavailable', reason: 'node_full' });
    expect(capacityRefusal('ip_full')).toEqual({ status: '429 Too Many Requests', reason: 'ip_full' });
  });
});
