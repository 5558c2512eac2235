import type { Admission } from './connection-limits.js';

/** Why an upgrade was refused: the HTTP status sent and the reason counted in metrics. */
export interface UpgradeRefusal {
  readonly status: string;
  readonly reason: string;
}

export interface UpgradePolicy {
  /** False while the node starts or drains. */
  readonly accepting: boolean;
  /** Browser origins allowed to connect; empty allows any. */
  readonly allowedOrigins: ReadonlySet<string>;
  /** With authentication on, every upgrade needs a credential. */
  readonly authRequired: boolean;
}

export interface UpgradeHeaders {
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
  notServing: { status: '503 Service Unavailable', reason: 'not_serving' },
  origin: { status: '403 Forbidden', reason: 'origin' },
  unauthorized: { status: '401 Unauthorized', reason: 'unauthorized' },
  nodeFull: { status: '503 Service Unavailable', reason: 'node_full' },
  ipFull: { status: '429 Too Many Requests', reason: 'ip_full' },
} as const satisfies Record<string, UpgradeRefusal>;

/**
 * The upgrade policy that needs no I/O: a node that is not serving, a
 * browser from an origin not allowed, a missing credential. A request that
 * passes either needs its credential verified or is admitted.
 */
export function screenUpgrade(headers: UpgradeHeaders, policy: UpgradePolicy): UpgradeScreening {
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
