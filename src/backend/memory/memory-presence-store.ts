import type { UserStatus } from '../../protocol/status.js';
import {
  NodeFencedError,
  type ClaimRequest,
  type HeartbeatResult,
  type NodeLoad,
  type PresenceEntry,
  type PresenceStore,
  type ReapResult,
  type ReclaimRequest,
  type ReclaimResult,
  type ResumeGrant,
  type ResumeRequest,
  type Resumed,
} from '../ports.js';
import { usernameSkeleton } from '../../protocol/username.js';

export interface LeaseSettings {
  /** How long a node and its users stay alive without a heartbeat. */
  readonly leaseMs: number;
}

interface HeldUser {
  /** `entry.node` is empty while the user is orphaned (its node gone, its window running). */
  entry: PresenceEntry;
  leaseUntil: number;
  /** Set for a resumable user: its grant, and when its window ends while its connection is gone. */
  resumable?: ResumeGrant & { deadline?: number };
}

/**
 * The in-process backend shared by every memory store that should see the
 * same users: one per process in production (a single node), several nodes
 * in tests. It keeps the Redis model's lease semantics so both backends
 * behave alike.
 */
export class MemoryPresenceRegistry {
  readonly users = new Map<string, HeldUser>();
  readonly nodeLeases = new Map<string, number>();
  readonly nodeUsers = new Map<string, Set<string>>();
  /** Look (a name's UTS #39 skeleton) → the name holding it: no two look-alikes held at once. */
  readonly looks = new Map<string, string>();
  /** Each node's load as it last reported it. */
  readonly loads = new Map<string, Omit<NodeLoad, 'node'>>();
  /** The generation each node acts under, and what set it last (as in Redis: see redis-presence-scripts.ts). */
  readonly fences = new Map<string, { gen: number; by: 'join' | 'reap' | 'retire' }>();

  constructor(readonly now: () => number = Date.now) {}

  /** The node holding a live user, if any. */
  nodeOf(name: string): string | undefined {
    const held = this.users.get(name);
    return held && held.leaseUntil >= this.now() ? held.entry.node : undefined;
  }

  /** The key of a resumable user's own log: one per registration (see memory-bus.ts). */
  userLogKey(name: string): string | undefined {
    const held = this.users.get(name);
    return held?.resumable ? `${name}@${held.entry.since}` : undefined;
  }

  /** Whether `name` may hold its look: nobody holds it, or only `name` itself, or a name no longer live. */
  lookFreeFor(name: string): boolean {
    const holder = this.looks.get(usernameSkeleton(name));
    return holder === undefined || holder === name || this.nodeOf(holder) === undefined;
  }

  takeLook(name: string): void {
    this.looks.set(usernameSkeleton(name), name);
  }

  /** Orphans a resumable user whose node is gone: listed until its window ends, then reaped. Others are left as they are. */
  orphan(held: HeldUser): void {
    const grant = held.resumable;
    if (!grant) return;
    const deadline = grant.deadline ?? this.now() + grant.windowMs;
    held.entry = { ...held.entry, node: '' };
    held.leaseUntil = deadline;
    held.resumable = { ...grant, deadline };
  }

  /** Removes a user and, if it still holds it, its look. */
  remove(name: string): void {
    this.users.delete(name);
    const look = usernameSkeleton(name);
    if (this.looks.get(look) === name) this.looks.delete(look);
  }

  usersOf(nodeId: string): Set<string> {
    let names = this.nodeUsers.get(nodeId);
    if (!names) {
      names = new Set();
      this.nodeUsers.set(nodeId, names);
    }
    return names;
  }
}

export class MemoryPresenceStore implements PresenceStore {
  /** Undefined until the first heartbeat, and again from a fencing until the next. */
  private generation: number | undefined;

  constructor(
    readonly nodeId: string,
    private readonly settings: LeaseSettings,
    private readonly registry: MemoryPresenceRegistry = new MemoryPresenceRegistry(),
  ) {
    registry.nodeLeases.set(nodeId, registry.now() + settings.leaseMs);
  }

  async claim({ name, ip, resumable }: ClaimRequest): Promise<boolean> {
    this.checkFence('claim');
    if (this.registry.users.has(name) || !this.registry.lookFreeFor(name)) return false;
    this.registry.takeLook(name);
    const now = this.registry.now();
    const entry: PresenceEntry = { name, node: this.nodeId, ip, status: 'ACTIVO', auto: false, since: now };
    this.registry.users.set(name, { entry, leaseUntil: now + this.settings.leaseMs, ...(resumable ? { resumable: { ...resumable } } : {}) });
    this.registry.usersOf(this.nodeId).add(name);
    return true;
  }

  async suspend(name: string): Promise<boolean> {
    this.checkFence('suspend');
    const held = this.registry.users.get(name);
    if (held?.entry.node !== this.nodeId || !held.resumable) return false;
    held.resumable = { ...held.resumable, deadline: this.registry.now() + held.resumable.windowMs };
    return true;
  }

  async resume({ name, ip, tokenHash, renewed }: ResumeRequest): Promise<Resumed | undefined> {
    this.checkFence('resume');
    const held = this.registry.users.get(name);
    if (!held?.resumable || held.resumable.tokenHash !== tokenHash) return undefined;
    const from = held.entry.node;
    if (from !== '' && from !== this.nodeId) this.registry.usersOf(from).delete(name);
    held.entry = { ...held.entry, node: this.nodeId, ip };
    held.leaseUntil = this.registry.now() + this.settings.leaseMs;
    held.resumable = { ...renewed };
    this.registry.usersOf(this.nodeId).add(name);
    return { from, status: held.entry.status, auto: held.entry.auto };
  }

  async endSuspension(name: string): Promise<boolean> {
    this.checkFence('end_suspension');
    const held = this.registry.users.get(name);
    if (held?.entry.node !== this.nodeId) return false;
    delete held.resumable;
    return true;
  }

  async reclaim({ name, ip, status, auto }: ReclaimRequest): Promise<ReclaimResult> {
    this.checkFence('reclaim');
    const held = this.registry.users.get(name);
    if (held && held.entry.node !== this.nodeId && held.entry.node !== '') return 'taken';
    if (!this.registry.lookFreeFor(name)) return 'taken';
    this.registry.takeLook(name);
    const now = this.registry.now();
    const since = held?.entry.since ?? now;
    const entry: PresenceEntry = { name, node: this.nodeId, ip, status, auto, since };
    const grant = held?.resumable && { tokenHash: held.resumable.tokenHash, windowMs: held.resumable.windowMs };
    this.registry.users.set(name, { entry, leaseUntil: now + this.settings.leaseMs, ...(grant ? { resumable: grant } : {}) });
    this.registry.usersOf(this.nodeId).add(name);
    if (held?.entry.node === '') return 'adopted';
    return held ? 'held' : 'reclaimed';
  }

  async release(name: string): Promise<boolean> {
    this.checkFence('release');
    const held = this.registry.users.get(name);
    if (!held || held.entry.node !== this.nodeId) return false;
    this.registry.remove(name);
    this.registry.usersOf(this.nodeId).delete(name);
    return true;
  }

  async setStatus(name: string, status: UserStatus, auto: boolean): Promise<void> {
    this.checkFence('set_status');
    const held = this.registry.users.get(name);
    if (held && held.entry.node === this.nodeId) held.entry = { ...held.entry, status, auto };
  }

  async get(name: string): Promise<PresenceEntry | undefined> {
    return this.registry.nodeOf(name) === undefined ? undefined : this.registry.users.get(name)?.entry;
  }

  async list(): Promise<string[]> {
    const now = this.registry.now();
    const names: string[] = [];
    for (const [name, held] of this.registry.users) if (held.leaseUntil >= now) names.push(name);
    return names.sort();
  }

  async heartbeat(localUsers?: number): Promise<HeartbeatResult> {
    const fence = this.registry.fences.get(this.nodeId);
    let found: HeartbeatResult | undefined;
    if (this.generation === undefined || fence?.gen !== this.generation) {
      // First beat, or fenced since the last: a new generation.
      found = fence?.by === 'reap' ? 'reaped' : 'lost';
      this.generation = (fence?.gen ?? 0) + 1;
      this.registry.fences.set(this.nodeId, { gen: this.generation, by: 'join' });
    }
    const now = this.registry.now();
    const lease = this.registry.nodeLeases.get(this.nodeId);
    const alive = lease !== undefined && lease >= now;
    const until = now + this.settings.leaseMs;
    this.registry.nodeLeases.set(this.nodeId, until);
    let heldHere = 0;
    for (const name of this.registry.usersOf(this.nodeId)) {
      const held = this.registry.users.get(name);
      if (held && held.entry.node === this.nodeId) {
        held.leaseUntil = until;
        heldHere++;
      }
    }
    if (found === undefined && localUsers !== undefined && heldHere < localUsers) return 'lost';
    return found ?? (alive ? 'alive' : 'lost');
  }

  async reapDeadNodes(stillJudging: () => boolean = () => true): Promise<ReapResult> {
    const now = this.registry.now();
    const departed: string[] = [];
    let nodes = 0;
    for (const [nodeId, leaseUntil] of this.registry.nodeLeases) {
      if (leaseUntil >= now) continue;
      if (!stillJudging()) break;
      this.registry.nodeLeases.delete(nodeId);
      this.registry.loads.delete(nodeId);
      this.fence(nodeId, 'reap');
      nodes++;
      for (const name of this.registry.usersOf(nodeId)) {
        const held = this.registry.users.get(name);
        if (held?.entry.node !== nodeId) continue;
        if (held.resumable) {
          this.registry.orphan(held);
          continue;
        }
        this.registry.remove(name);
        departed.push(name);
      }
      this.registry.nodeUsers.delete(nodeId);
    }
    for (const [name, held] of this.registry.users) {
      if (held.entry.node !== '' || held.leaseUntil >= now) continue;
      this.registry.remove(name);
      departed.push(name);
    }
    return { nodes, users: departed };
  }

  async reportLoad(load: Omit<NodeLoad, 'node'>): Promise<void> {
    this.registry.loads.set(this.nodeId, { ...load });
  }

  async loads(): Promise<NodeLoad[]> {
    const now = this.registry.now();
    const loads: NodeLoad[] = [];
    for (const [node, leaseUntil] of this.registry.nodeLeases) {
      if (leaseUntil < now) continue;
      loads.push({ node, ...(this.registry.loads.get(node) ?? { connections: 0, ready: false }) });
    }
    return loads;
  }

  async retire(): Promise<void> {
    if (this.generation === undefined) return;
    this.checkFence('retire');
    for (const name of this.registry.usersOf(this.nodeId)) {
      const held = this.registry.users.get(name);
      if (held?.entry.node === this.nodeId) this.registry.orphan(held);
    }
    this.registry.nodeLeases.delete(this.nodeId);
    this.registry.loads.delete(this.nodeId);
    this.registry.nodeUsers.delete(this.nodeId);
    this.fence(this.nodeId, 'retire');
    this.generation = undefined;
  }

  private fence(nodeId: string, by: 'reap' | 'retire'): void {
    this.registry.fences.set(nodeId, { gen: (this.registry.fences.get(nodeId)?.gen ?? 0) + 1, by });
  }

  private checkFence(what: string): void {
    if (this.generation === undefined || this.registry.fences.get(this.nodeId)?.gen !== this.generation) {
      throw new NodeFencedError(`the ${what} call`);
    }
  }
}
