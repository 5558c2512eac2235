import type { UserStatus } from '../protocol/status.js';
import type { DirectEnvelope, Envelope, RoomEnvelope } from './envelope.js';

// The ports the chat core needs from a backend, and the errors they raise.
// Each backend package (memory/, redis/) implements all of them.

/** Raised by a backend port when the shared backend cannot be reached. */
export class BackendUnavailableError extends Error {
  constructor(cause: unknown, what = 'backend unavailable') {
    super(`${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'BackendUnavailableError';
  }
}

/**
 * The request reached the backend, or may have, and its answer was lost or
 * late: it may have been carried out. Repeating it may do it twice, so the
 * client is told so, not told to try again.
 */
export class BackendOutcomeUnknownError extends BackendUnavailableError {
  constructor(cause: unknown) {
    super(cause, 'backend outcome unknown');
    this.name = 'BackendOutcomeUnknownError';
  }
}

/**
 * The backend refused a command because this node was fenced (reaped, or
 * retired) since it last joined: nothing was done, and the node joins again
 * at its next heartbeat, so repeating the request later is safe.
 */
export class NodeFencedError extends BackendUnavailableError {
  constructor(what: string) {
    super(`${what} was refused: this node was fenced and has not joined again yet`, 'node fenced');
    this.name = 'NodeFencedError';
  }
}

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
  /** Given when the user's client may resume: what it must show to take the name back. */
  readonly resumable?: ResumeGrant;
}

/** What a resumable user's client holds (as a hash here) to take its name back after its connection dropped. */
export interface ResumeGrant {
  /** SHA-256 of the token the client was given; the token itself is never stored. */
  readonly tokenHash: string;
  /** How long the name waits for its client after the connection dropped. */
  readonly windowMs: number;
}

export interface ResumeRequest {
  readonly name: string;
  readonly ip: string;
  /** SHA-256 of the token the client shows. */
  readonly tokenHash: string;
  /** The grant that replaces the one shown: each token serves once. */
  readonly renewed: ResumeGrant;
}

/** A resumable user taken over by this node, with the state the cluster kept for it. */
export interface Resumed {
  /** The node that held it; empty when that node is gone (reaped, or retired). */
  readonly from: string;
  readonly status: UserStatus;
  readonly auto: boolean;
}

/** A user of this node whose presence the cluster lost, with the state it had. */
export interface ReclaimRequest extends ClaimRequest {
  readonly status: UserStatus;
  readonly auto: boolean;
}

/** How a name fared when this node claimed it back. */
export type ReclaimResult =
  /** It was gone from the cluster and is this node's again: the others must hear the user is back. */
  | 'reclaimed'
  /** This node still held it; nothing changed for the others. */
  | 'held'
  /**
   * It was orphaned (a resumable user of this node, reaped while the node
   * was cut off) and is this node's again: nobody saw it leave, but private
   * messages sent meanwhile are only in its log, for its client to resume.
   */
  | 'adopted'
  /** Another node holds it now. */
  | 'taken';

/** How busy a node is, as it last told the cluster. */
export interface NodeLoad {
  readonly node: string;
  /** Its open client connections. */
  readonly connections: number;
  /** Whether it takes new connections (ready, not draining). */
  readonly ready: boolean;
}

/** What a heartbeat found out about this node. */
export type HeartbeatResult =
  /** The cluster knew it all along. */
  | 'alive'
  /**
   * Its lease had run out, or the backend forgot it (restarted empty or from
   * an old snapshot): its users must be claimed again.
   */
  | 'lost'
  /**
   * Another node reaped it and announced the departure of every user it
   * held: its users must be claimed again, and none of their departures
   * announced a second time.
   */
  | 'reaped';

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
   * it. Succeeds when it was free or is still this node's, so it can be
   * repeated after a partial failure.
   */
  reclaim(request: ReclaimRequest): Promise<ReclaimResult>;
  /**
   * A resumable user of this node lost its connection: the name stays
   * listed, with its status, for its window, and is the client's to take
   * back on any node. Should this node die meanwhile, the name still waits
   * for the rest of the window. False when the name is no longer this
   * node's (its client resumed elsewhere already).
   */
  suspend(name: string): Promise<boolean>;
  /**
   * Takes a resumable user's name for this node, from whichever node held
   * it (alive, dead or gone), when the token shown is the one granted;
   * the grant is replaced. Undefined when refused: wrong token, not a
   * resumable user, or its window ran out and its departure was announced.
   */
  resume(request: ResumeRequest): Promise<Resumed | undefined>;
  /**
   * The window of a suspended user of this node ran out: its grant is
   * withdrawn, so it can no longer be resumed, and the caller announces the
   * departure and releases the name. False when the name is no longer this
   * node's (resumed elsewhere, or left to the reaper), and nothing is done.
   */
  endSuspension(name: string): Promise<boolean>;
  /** Frees a name this node holds; false when it no longer held it (e.g. reaped). */
  release(name: string): Promise<boolean>;
  setStatus(name: string, status: UserStatus, auto: boolean): Promise<void>;
  /** The live entry for a name, or undefined when nobody online holds it. */
  get(name: string): Promise<PresenceEntry | undefined>;
  /** Names of every live user in the cluster, sorted. */
  list(): Promise<string[]>;
  /**
   * Renews this node's lease and the leases of the users it holds, and
   * tells whether the cluster had lost it, or lost some of them: given
   * how many users the node holds, the beat finds out when the backend
   * holds fewer (a failover to a replica that had not received them).
   */
  heartbeat(localUsers?: number): Promise<HeartbeatResult>;
  /**
   * Finds nodes whose lease ran out, claims each for this node (one claimer
   * wins per dead node) and removes their users. Returns the names removed,
   * so the caller can announce each departure exactly once. A node found
   * alive after all learns at its next heartbeat that it was reaped.
   * Resumable users of a dead or retired node are not removed until their
   * window has passed without a resume: they are returned then, once.
   * `stillJudging` is asked before each dead node is claimed: when it says
   * no (the caller lost the backend meanwhile, so the leases it sees ran
   * out for everyone), the pass claims no more nodes.
   */
  reapDeadNodes(stillJudging?: () => boolean): Promise<ReapResult>;
  /** Tells the cluster how busy this node is (each heartbeat, so the others can balance). */
  reportLoad(load: Omit<NodeLoad, 'node'>): Promise<void>;
  /** The latest load of every live node, this one included, by node id. */
  loads(): Promise<NodeLoad[]>;
  /** Withdraws this node's lease (graceful shutdown, after its users left); its suspended users wait out their window. */
  retire(): Promise<void>;
}

export type EnvelopeHandler = (envelope: Envelope) => void;

/** A direct envelope that found its user's node. */
export interface LookedUp {
  /**
   * The node to send the user's next messages to along a route; absent
   * when that node takes looked-up messages only (an earlier version).
   */
  readonly route?: string;
}

/**
 * Cross-node fan-out. A node hears everything addressed to all users and
 * what is addressed to itself, nothing more. Publishing fails with
 * `BackendUnavailableError` when the message cannot leave this node.
 */
export interface Bus {
  readonly nodeId: string;
  /** Starts delivering envelopes for this node to `handler`. */
  subscribe(handler: EnvelopeHandler): Promise<void>;
  /**
   * Resolves once the envelope is on its way to every node, late for those
   * whose subscription is broken. Throws BackendUnavailableError when it
   * surely did not leave, BackendOutcomeUnknownError when that is unknown.
   */
  publishToAll(envelope: RoomEnvelope): Promise<void>;
  /**
   * Sends to the node that holds `envelope.to`, found and reached in one
   * step; undefined when nobody has that name. Throws
   * BackendUnavailableError when it surely did not arrive (that node does
   * not listen right now).
   */
  publishToUser(envelope: DirectEnvelope): Promise<LookedUp | undefined>;
  /**
   * Sends to `node`, which held `envelope.to` when last heard of, without
   * looking the user up first, and checks in the same step that it still
   * does: true when it does, and the envelope is on its way. False when it
   * does not (any more) or takes nothing now; a node that does not hold the
   * user drops what it is sent for them.
   */
  publishVia(node: string, envelope: DirectEnvelope): Promise<boolean>;
  /**
   * Resolves once every direct envelope accepted for this node's users
   * until now has been handed to the handler (or the bus stopped), so that
   * a user about to be disconnected gets what was already sent to them.
   * Throws BackendUnavailableError when that cannot be known.
   */
  caughtUp(): Promise<void>;
  /**
   * Registers a callback for when room envelopes meant for this node were
   * lost for good: its subscription broke and the backend no longer keeps
   * what was published meanwhile (trimmed, or lost by a restart). The
   * node's users must be told, and their view of presence refreshed. Called
   * once the subscription is back, before what was still kept is delivered.
   */
  onRoomGap(listener: () => void): void;
  /**
   * What `user` missed after `since`: the room envelopes logged after its
   * room position (but those meant for everyone except it), and the direct
   * envelopes logged for it after its own position. Only resumable users
   * have a log of their own.
   */
  missedSince(user: string, since: ResumePositions): Promise<Missed>;
  /**
   * Tells `node` that `user`, which it held, resumed elsewhere: it lets go
   * of the user without a departure. Best effort: a node that misses it
   * learns when the backend refuses it the name.
   */
  tellMoved(node: string, user: string): Promise<void>;
  unsubscribe(): Promise<void>;
}

/** How much of the room, and of each resumable user's private messages, the backend keeps to hand back. */
export interface Retention {
  /** Room envelopes the room log keeps (about). */
  readonly roomLogLength: number;
  /** Direct envelopes a resumable user's log keeps (about). */
  readonly userLogLength: number;
}

export const DEFAULT_RETENTION: Retention = Object.freeze({ roomLogLength: 10_000, userLogLength: 1000 });

/** Where a resuming client is in the room log and in its own log: the last position it received of each. */
export interface ResumePositions {
  /** Absent: no room position to resume from (no room message is replayed). */
  readonly room?: string;
  /** Absent: from the start of the user's log, which begins at its registration. */
  readonly inbox?: string;
}

/** What a resuming user missed, from its positions on, oldest first. */
export interface Missed {
  readonly room: readonly RoomEnvelope[];
  readonly direct: readonly DirectEnvelope[];
  /** False when some of what it missed is no longer kept (the logs are bounded): it must be told. */
  readonly complete: boolean;
}

/** The cluster-wide state a node works with: presence and fan-out, with their health. */
export interface Backend {
  readonly presence: PresenceStore;
  readonly bus: Bus;
  /** Resolves once the backend can be used. */
  readonly connected: Promise<void>;
  /** Empty when the backend can serve; otherwise why not. */
  notReadyReasons(): string[];
  /**
   * Registers a callback for when the backend comes back after an outage,
   * or refused a command because this node was fenced: either way the node
   * should beat now, to be on the cluster's map again at once.
   */
  onRecovered(listener: () => void): void;
  close(): Promise<void>;
}
