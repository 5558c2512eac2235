import type { UserStatus } from '../../protocol/status.js';
import type { ClaimRequest, HeartbeatResult, PresenceEntry, PresenceStore, ReapResult, ReclaimRequest, ReclaimResult } from '../ports.js';

export interface LeaseSettings {
  /** How long a node and its users stay alive without a heartbeat. */
  readonly leaseMs: number;
}

interface HeldUser {
  entry: PresenceEntry;
  leaseUntil: number;
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
  /** Nodes reaped that have not beaten since: they learn it at their next heartbeat. */
  readonly reapedNodes = new Set<string>();

  constructor(readonly now: () => number = Date.now) {}

  /** The node holding a live user, if any. */
  nodeOf(name: string): string | undefined {
    const held = this.users.get(name);
    return held && held.leaseUntil >= this.now() ? held.entry.node : undefined;
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
  constructor(
    readonly nodeId: string,
    private readonly settings: LeaseSettings,
    private readonly registry: MemoryPresenceRegistry = new MemoryPresenceRegistry(),
  ) {
    registry.nodeLeases.set(nodeId, registry.now() + settings.leaseMs);
  }

  async claim({ name, ip }: ClaimRequest): Promise<boolean> {
    if (this.registry.users.has(name)) return false;
    const now = this.registry.now();
    const entry: PresenceEntry = { name, node: this.nodeId, ip, status: 'ACTIVO', auto: false, since: now };
    this.registry.users.set(name, { entry, leaseUntil: now + this.settings.leaseMs });
    this.registry.usersOf(this.nodeId).add(name);
    return true;
  }

  async reclaim({ name, ip, status, auto }: ReclaimRequest): Promise<ReclaimResult> {
    const held = this.registry.users.get(name);
    if (held && held.entry.node !== this.nodeId) return 'taken';
    const now = this.registry.now();
    const since = held?.entry.since ?? now;
    const entry: PresenceEntry = { name, node: this.nodeId, ip, status, auto, since };
    this.registry.users.set(name, { entry, leaseUntil: now + this.settings.leaseMs });
    this.registry.usersOf(this.nodeId).add(name);
    return held ? 'held' : 'reclaimed';
  }

  async release(name: string): Promise<boolean> {
    const held = this.registry.users.get(name);
    if (!held || held.entry.node !== this.nodeId) return false;
    this.registry.users.delete(name);
    this.registry.usersOf(this.nodeId).delete(name);
    return true;
  }

  async setStatus(name: string, status: UserStatus, auto: boolean): Promise<void> {
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

  async heartbeat(): Promise<HeartbeatResult> {
    const now = this.registry.now();
    const lease = this.registry.nodeLeases.get(this.nodeId);
    const alive = lease !== undefined && lease >= now;
    const until = now + this.settings.leaseMs;
    this.registry.nodeLeases.set(this.nodeId, until);
    for (const name of this.registry.usersOf(this.nodeId)) {
      const held = this.registry.users.get(name);
      if (held && held.entry.node === this.nodeId) held.leaseUntil = until;
    }
    if (this.registry.reapedNodes.delete(this.nodeId)) return 'reaped';
    return alive ? 'alive' : 'lost';
  }

  async reapDeadNodes(): Promise<ReapResult> {
    const now = this.registry.now();
    const departed: string[] = [];
    let nodes = 0;
    for (const [nodeId, leaseUntil] of this.registry.nodeLeases) {
      if (leaseUntil >= now) continue;
      this.registry.nodeLeases.delete(nodeId);
      this.registry.reapedNodes.add(nodeId);
      nodes++;
      for (const name of this.registry.usersOf(nodeId)) {
        if (this.registry.users.get(name)?.entry.node !== nodeId) continue;
        this.registry.users.delete(name);
        departed.push(name);
      }
      this.registry.nodeUsers.delete(nodeId);
    }
    return { nodes, users: departed };
  }

  async retire(): Promise<void> {
    this.registry.nodeLeases.delete(this.nodeId);
    this.registry.nodeUsers.delete(this.nodeId);
  }
}
