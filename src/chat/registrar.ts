import type { PresenceStore } from '../backend/ports.js';
import { ChatError } from '../protocol/errors.js';
import type { ServerMessages } from '../protocol/server-messages.js';
import { usernameProblem } from '../protocol/username.js';
import type { DepartureLedger } from './departure-ledger.js';
import type { LocalDelivery } from './local-delivery.js';
import type { Room } from './room.js';
import type { Session } from './session.js';

/** A registration in progress. */
interface Arrival {
  /** Set once the name is claimed. */
  name: string | undefined;
  /** Frames for the newcomer that arrived before it was attached, in order. */
  readonly held: string[];
}

export interface RegistrarDependencies {
  readonly presence: PresenceStore;
  readonly room: Room;
  readonly local: LocalDelivery;
  readonly departures: DepartureLedger;
  readonly messages: ServerMessages;
}

/**
 * Registration: claims a name cluster-wide, announces the newcomer, and
 * holds what reaches it before it is attached. Also the node's own record of
 * the names it holds, from the start of their registration until their user
 * leaves: two local connections never hold one name, whatever the backend
 * says after losing data.
 */
export class Registrar {
  private readonly arrivals = new Map<Session, Arrival>();
  private readonly localNames = new Set<string>();

  constructor(private readonly deps: RegistrarDependencies) {}

  /** Names registered or being registered on this node. For leak checks. */
  get reservedNameCount(): number {
    return this.localNames.size;
  }

  /**
   * The session's user is no longer here (it left, or lost its name): the
   * name is free on this node and nothing more is delivered to it. Returns
   * the name it had, if any.
   */
  unregister(session: Session): string | undefined {
    const name = session.unbind();
    if (name === undefined) return undefined;
    this.localNames.delete(name);
    this.deps.local.detach(name);
    return name;
  }

  async register(session: Session, name: string): Promise<void> {
    if (session.name) throw new ChatError('ALREADY_REGISTERED');
    const problem = usernameProblem(name);
    if (problem !== undefined) throw new ChatError('INVALID_USERNAME', problem);
    const allowed = session.connection.allowedName;
    if (allowed !== undefined && name !== allowed.normalize('NFKC')) throw new ChatError('NAME_NOT_ALLOWED');
    // Held here, or left while the backend was away: not free, whatever the backend says.
    if (this.localNames.has(name) || this.deps.departures.holds(name)) throw new ChatError('USERNAME_TAKEN');
    this.localNames.add(name);
    // Room traffic is held from before the user list is read until the user
    // is attached, so every join between the two reaches the newcomer: as a
    // name in its list, as a held notice, or both.
    const arrival: Arrival = { name: undefined, held: [] };
    this.arrivals.set(session, arrival);
    // From the claim on, the backend may hold the name for this node, even when the claim's answer is lost.
    let mayHoldName = false;
    let claimToGiveBack = false;
    try {
      const listing = this.deps.presence.list();
      listing.catch(() => undefined); // awaited below only if the claim succeeds
      mayHoldName = true;
      if (!(await this.deps.presence.claim({ name, ip: session.connection.ip }))) {
        mayHoldName = false;
        throw new ChatError('USERNAME_TAKEN');
      }
      const others = await listing;
      arrival.name = name;
      // Announce first, then confirm once the notice has come back to this
      // node: whoever registers here after this user's register_success
      // already knows of it, and gets no late join notice.
      await this.deps.room.untilReturned(await this.deps.room.arrived(name, 'ACTIVO'));
      session.bind(name);
      const userList = others.includes(name) ? others : [...others, name].sort();
      session.connection.send(this.deps.messages.registerSuccess(userList));
      this.deps.local.attach(name, session.connection);
      for (const frame of arrival.held) session.connection.send(frame);
    } catch (err) {
      // A claim that did not end in a registration is given back, never left behind.
      claimToGiveBack = mayHoldName;
      throw err;
    } finally {
      this.arrivals.delete(session);
      if (session.name !== name) this.localNames.delete(name);
      if (claimToGiveBack && session.name !== name) await this.deps.departures.giveBack(name);
    }
  }

  isRegistering(session: Session): boolean {
    return this.arrivals.has(session);
  }

  /** Room traffic reaches every registration in progress, except the one it is about. */
  holdRoomFrame(frame: string, except: string | undefined): void {
    for (const arrival of this.arrivals.values()) if (arrival.name !== except) arrival.held.push(frame);
  }

  /** A direct message for a user still registering waits with its arrival; false when nobody of that name is registering. */
  holdDirectFrame(to: string, frame: string): boolean {
    if (this.arrivals.size === 0) return false;
    for (const arrival of this.arrivals.values()) {
      if (arrival.name === to) {
        arrival.held.push(frame);
        return true;
      }
    }
    return false;
  }
}
