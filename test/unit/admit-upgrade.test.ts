import { describe, expect, it } from 'vitest';
import { capacityRefusal, REFUSALS, screenUpgrade } from '../../src/transport/admit-upgrade.js';

const open = { accepting: true, allowedOrigins: new Set<string>(), authRequired: false };
const guarded = { accepting: true, allowedOrigins: new Set(['https://chat.example.com']), authRequired: true };

describe('screening an upgrade', () => {
  it('admits any client of an open node, with or without an origin', () => {
    expect(screenUpgrade({ origin: '', token: undefined }, open)).toEqual({ verdict: 'admit' });
    expect(screenUpgrade({ origin: 'https://elsewhere.example', token: undefined }, open)).toEqual({ verdict: 'admit' });
  });

  it('refuses everyone with 503 while the node is not serving', () => {
    expect(screenUpgrade({ origin: 'https://chat.example.com', token: 't' }, { ...guarded, accepting: false })).toEqual({
      verdict: 'refuse',
      refusal: REFUSALS.notServing,
    });
  });

  it('refuses a browser from an origin not on the list with 403, before looking at its credential', () => {
    expect(screenUpgrade({ origin: 'https://evil.example', token: 't' }, guarded)).toEqual({ verdict: 'refuse', refusal: REFUSALS.origin });
  });

  it('asks for a credential when authentication is on: 401 without one, verification with one', () => {
    expect(screenUpgrade({ origin: '', token: undefined }, guarded)).toEqual({ verdict: 'refuse', refusal: REFUSALS.unauthorized });
    expect(screenUpgrade({ origin: 'https://chat.example.com', token: 'abc' }, guarded)).toEqual({ verdict: 'verify', token: 'abc' });
  });

  it('turns the connection caps into 503 for a full node and 429 for a full address', () => {
    expect(capacityRefusal('ok')).toBeUndefined();
    expect(capacityRefusal('node_full')).toEqual({ status: '503 Service Unavailable', reason: 'node_full' });
    expect(capacityRefusal('ip_full')).toEqual({ status: '429 Too Many Requests', reason: 'ip_full' });
  });
});
