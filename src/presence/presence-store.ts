import type { UserStatus } from '../protocol/status.js';

/** What the cluster knows about one registered user. */
export interface PresenceEntry {
  readonly name: string;
  /** Id of the node holding the user's connection. */
  readonly node: string;
  readonly ip: string;
  readonly status: UserStatus;
  /** True when the status was set by the idle timer rather than the user. */
  readonly auto: boolean;
  /** Registration time, milliseconds since the epoch. */
  readonly since: number;
}

export interface ClaimRequest {
  readonly name: string;
  readonly ip: string;
}

/** A user of this node whose presence the cluster lost, with the state it had. */
export interface ReclaimRequest extends ClaimRequest {
  readonly status: UserStatus;
  readonly auto: boolean;
}

export interface ReapResult {
  /** How many dead nodes this call claimed. */
  readonly nodes: number;
  /** Users those nodes held. */
  readonly users: string[];
}

/**
 * Who is online, where and in which state, cluster-wide. One instance per
 * node; every method acts on behalf of that node. Failures to reach a shared
 * backend surface as `BackendUnavailableError`.
 */
export interface PresenceStore {
  readonly nodeId: string;
  /** Atomically takes a name for this node; false when anyone holds it already. */
  claim(request: ClaimRequest): Promise<boolean>;
  /**
   * Takes a name back for this node, with its status, after the cluster lost
   * it. True when it was free or already this node's (so it can be repeated
   * after a partial failure); false when another node holds it now.
   */
  reclaim(request: ReclaimRequest): Promise<boolean>;
  /** Frees a name this node holds; false when it no longer held it (e.g. reaped). */
  release(name: string): Promise<boolean>;
  setStatus(name: string, status: UserStatus, auto: boolean): Promise<void>;
  /** The live entry for a name, or undefined when nobody online holds it. */
  get(name: string): Promise<PresenceEntry | undefined>;
  /** Names of every live user in the cluster, sorted. */
  list(): Promise<string[]>;
  /**
   * Renews this node's lease and the leases of the users it holds. True when
   * the cluster had lost this node (reaped while alive, or a backend that
   * restarted empty): its users must then be claimed again.
   */
  heartbeat(): Promise<boolean>;
  /**
   * Finds nodes whose lease ran out, claims each for this node (one claimer
   * wins per dead node) and removes their users. Returns the names removed,
   * so the caller can announce each departure exactly once.
   */
  reapDeadNodes(): Promise<ReapResult>;
  /** Withdraws this node's lease (graceful shutdown, after its users left). */
  retire(): Promise<void>;
}
