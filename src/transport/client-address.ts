import type { BlockList } from 'node:net';
import { isIP, SocketAddress } from 'node:net';

const IPV4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/;

/**
 * An address as people write it: IPv6 in its short canonical form (uWS
 * reports it in full, 0000:…:0001), and IPv4-mapped IPv6 as plain IPv4.
 */
export function normaliseAddress(address: string): string {
  const canonical = isIP(address) === 6 ? new SocketAddress({ address, family: 'ipv6' }).address : address;
  const mapped = IPV4_MAPPED.exec(canonical);
  return mapped ? mapped[1]! : canonical;
}

function isTrusted(address: string, trusted: BlockList): boolean {
  const family = isIP(address);
  return family !== 0 && trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * The client's address: the socket peer, or, when the peer is a trusted
 * proxy, the right-most address in X-Forwarded-For that is not itself a
 * trusted proxy. Headers from anyone else are ignored.
 */
export function resolveClientAddress(peer: string, forwardedFor: string, trusted: BlockList): string {
  const direct = normaliseAddress(peer);
  if (!forwardedFor || !isTrusted(direct, trusted)) return direct;
  const hops = forwardedFor
    .split(',')
    .map((hop) => normaliseAddress(hop.trim()))
    .filter((hop) => isIP(hop) !== 0);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (!isTrusted(hop, trusted) || i === 0) return hop;
  }
  return direct;
}
