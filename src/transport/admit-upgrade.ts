import type { Admission } from './connection-limits.js';

/** Why an upgrade was refused: the HTTP status sent, headers it needs, and the reason counted in metrics. */
export interface UpgradeRefusal {
  readonly status: string;
  readonly reason: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface UpgradePolicy {
  /** False while the node starts or drains. */
  readonly accepting: boolean;
  /** Browser origins allowed to connect; empty allows any. */
  readonly allowedOrigins: ReadonlySet<string>;
  /** With authentication on, every upgrade needs a credential. */
  readonly authRequired: boolean;
}

/** The parts of the request that make it a WebSocket opening handshake (RFC 6455, 4.2.1). */
export interface Handshake {
  /** Lower case, as uWS gives it. */
  readonly method: string;
  readonly upgrade: string;
  readonly connection: string;
  readonly version: string;
  readonly key: string;
}

export interface UpgradeHeaders {
  readonly handshake: Handshake;
  readonly origin: string;
  /** The credential the request carries, if any. */
  readonly token: string | undefined;
}

/** What to do with an upgrade request, before its credential is checked. */
export type UpgradeScreening =
  | { readonly verdict: 'refuse'; readonly refusal: UpgradeRefusal }
  | { readonly verdict: 'verify'; readonly token: string }
  | { readonly verdict: 'admit' };

export const REFUSALS = {
  badHandshake: { status: '400 Bad Request', reason: 'bad_handshake' },
  // RFC 6455, 4.4: the versions this server speaks, for the client to retry with.
  badVersion: { status: '426 Upgrade Required', reason: 'bad_version', headers: { 'sec-websocket-version': '13' } },
  notServing: { status: '503 Service Unavailable', reason: 'not_serving' },
  origin: { status: '403 Forbidden', reason: 'origin' },
  unauthorized: { status: '401 Unauthorized', reason: 'unauthorized' },
  nodeFull: { status: '503 Service Unavailable', reason: 'node_full' },
  ipFull: { status: '429 Too Many Requests', reason: 'ip_full' },
} as const satisfies Record<string, UpgradeRefusal>;

/** A `Sec-WebSocket-Key`: 16 bytes in base64, which is 22 characters and `==`. */
const HANDSHAKE_KEY = /^[A-Za-z0-9+/]{21}[AQgw]==$/;

/** Whether a comma-separated header holds `token`, in any case (`Connection: keep-alive, Upgrade`). */
function listsToken(header: string, token: string): boolean {
  return header.split(',').some((item) => item.trim().toLowerCase() === token);
}

/** Whether an `Upgrade` header asks for a WebSocket. */
export function asksForWebSocket(upgradeHeader: string): boolean {
  return listsToken(upgradeHeader, 'websocket');
}

/** What is wrong with a request that asks for a WebSocket, if anything: refused before anything else is looked at. */
export function handshakeRefusal(handshake: Handshake): UpgradeRefusal | undefined {
  if (handshake.method !== 'get' || !asksForWebSocket(handshake.upgrade) || !listsToken(handshake.connection, 'upgrade')) {
    return REFUSALS.badHandshake;
  }
  if (!HANDSHAKE_KEY.test(handshake.key)) return REFUSALS.badHandshake;
  if (handshake.version !== '13') return REFUSALS.badVersion;
  return undefined;
}

/**
 * The upgrade policy that needs no I/O: a request that is not a valid
 * handshake, a node that is not serving, a browser from an origin not
 * allowed, a missing credential. A request that passes either needs its
 * credential verified or is admitted.
 */
export function screenUpgrade(headers: UpgradeHeaders, policy: UpgradePolicy): UpgradeScreening {
  const malformed = handshakeRefusal(headers.handshake);
  if (malformed) return { verdict: 'refuse', refusal: malformed };
  if (!policy.accepting) return { verdict: 'refuse', refusal: REFUSALS.notServing };
  if (headers.origin && policy.allowedOrigins.size > 0 && !policy.allowedOrigins.has(headers.origin)) {
    return { verdict: 'refuse', refusal: REFUSALS.origin };
  }
  if (!policy.authRequired) return { verdict: 'admit' };
  if (!headers.token) return { verdict: 'refuse', refusal: REFUSALS.unauthorized };
  return { verdict: 'verify', token: headers.token };
}

/** The connection caps' answer as a refusal, or undefined when the connection fits. */
export function capacityRefusal(admission: Admission): UpgradeRefusal | undefined {
  switch (admission) {
    case 'ok':
      return undefined;
    case 'node_full':
      return REFUSALS.nodeFull;
    case 'ip_full':
      return REFUSALS.ipFull;
  }
}
