import { describe, expect, it } from 'vitest';
import { trustedProxyList } from '../../src/config.js';
import { normaliseAddress, resolveClientAddress } from '../../src/transport/client-address.js';

const trusted = trustedProxyList(['10.0.0.0/8', '::1']);

describe('client address', () => {
  it('normalises IPv4-mapped IPv6 peers', () => {
    expect(normaliseAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normaliseAddress('2001:DB8::1')).toBe('2001:db8::1');
    // The full form uWebSockets.js reports on an IPv6 listener.
    expect(normaliseAddress('0000:0000:0000:0000:0000:ffff:7f00:0001')).toBe('127.0.0.1');
    expect(normaliseAddress('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(normaliseAddress('203.0.113.9')).toBe('203.0.113.9');
    expect(normaliseAddress('not an address')).toBe('not an address');
  });

  it('ignores X-Forwarded-For from an untrusted peer', () => {
    expect(resolveClientAddress('203.0.113.9', '198.51.100.7', trusted)).toBe('203.0.113.9');
  });

  it('takes the client from X-Forwarded-For when the peer is a trusted proxy', () => {
    expect(resolveClientAddress('10.1.2.3', '198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(resolveClientAddress('::1', '198.51.100.7', trusted)).toBe('198.51.100.7');
  });

  it('skips trusted hops from the right and never trusts what the client wrote', () => {
    expect(resolveClientAddress('10.1.2.3', '1.2.3.4, 198.51.100.7, 10.9.9.9', trusted)).toBe('198.51.100.7');
  });

  it('falls back to the peer when the header holds no address', () => {
    expect(resolveClientAddress('10.1.2.3', 'unknown, garbage', trusted)).toBe('10.1.2.3');
  });
});
