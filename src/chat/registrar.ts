import type { Bus, Missed, PresenceStore, ResumeGrant, ResumePositions } from '../backend/ports.js';
import { compareEntryIds, withPosition } from '../protocol/positions.js';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import { ChatError } from '../protocol/errors.js';
import type { ServerMessages } from '../protocol/server-messages.js';
import { usernameProblem } from '../protocol/username.js';
import type { DepartureLedger } from './departure-ledger.js';
import type { LocalDelivery } from './local-delivery.js';
import { newResumeToken, resumeTokenHash } from './resume-token.js';
import type { Room } from './room.js';
import type { Session } from './session.js';
import type { Suspensions } from './suspensions.js';

/** A frame held for a newcomer, with its position in the room log (`entry`) or in the user's log (`at`), if it has one. */
interface HeldFrame {
  readonly frame: string;
  readonly entry?: string | undefined;
  readonly at?: string | undefined;
  /** For a room notice about one user: who, and whether it announces that user's arrival. */
  readonly about?: { readonly user: string; readonly arrival: boolean };
}

/** A registration in progress. */
interface Arrival {
  /** Set once the name is claimed. */
  name: string | undefined;
  /** Frames for the newcomer that arrived before it was attached, in order. */
  readonly held: HeldFrame[];
  /** A resumable user's private messages go through its log, never straight into `held`. */
  readonly resumable: boolean;
}

export interface RegistrarDependencies {
  readonly presence: PresenceStore;
  readonly bus: Bus;
  readonly suspensions: Suspensions;
  /** Lets go of a local holder of `name` (a suspension, or a stale connection) once its client resumed on another connection. */
  readonly letGo: (name: string) => void;
  /** `name` may now be this node's with no connection (a resume whose answer was lost): it waits for its client like a suspended user. */
  readonly awaitClient: (name: string, windowMs: number) => void;
  readonly logger: Logger;
  readonly metrics: Metrics;
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

  /** Registers a new user; resumable (its client given a session) when `resumeWindowMs` is set. */
  async register(session: Session, name: string, resumeWindowMs?: number): Promise<void> {
    this.checkName(session, name);
    // Held here, waiting for its client, or left while the backend was away: not free, whatever the backend says.
    if (this.localNames.has(name) || this.deps.suspensions.holds(name) || this.deps.departures.holds(name)) throw new ChatError('USERNAME_TAKEN');
    const offer = resumeWindowMs === undefined ? undefined : { token: newResumeToken(), windowMs: resumeWindowMs };
    const resumable: ResumeGrant | undefined = offer && { tokenHash: offer.token.hash, windowMs: offer.windowMs };
    this.localNames.add(name);
    // Room traffic is held from before the user list is read until the user
    // is attached, so every join between the two reaches the newcomer: as a
    // name in its list or as a held notice (newsTo drops the repeats).
    const arrival: Arrival = { name: undefined, held: [], resumable: resumable !== undefined };
    this.arrivals.set(session, arrival);
    // From the claim on, the backend may hold the name for this node, even when the claim's answer is lost.
    let mayHoldName = false;
    let claimToGiveBack = false;
    try {
      const listing = this.deps.presence.list();
      listing.catch(() => undefined); // awaited below only if the claim succeeds
      mayHoldName = true;
      if (!(await this.deps.presence.claim({ name, ip: session.connection.ip, ...(resumable ? { resumable } : {}) }))) {
        mayHoldName = false;
        throw new ChatError('USERNAME_TAKEN');
      }
      const others = await listing;
      arrival.name = name;
      // Announce first, then confirm once the notice has come back to this
      // node: whoever registers here after this user's register_success
      // already knows of it, and gets no late join notice.
      const arrivalEntry = await this.deps.room.untilReturned(await this.deps.room.arrived(name, 'ACTIVO', resumable === undefined));
      session.bind(name, resumeWindowMs);
      const grant = offer && { token: offer.token.token, windowMs: offer.windowMs, resumed: false, ...(arrivalEntry ? { room_pos: arrivalEntry } : {}) };
      session.connection.send(this.deps.messages.registerSuccess(withName(others, name), grant));
      this.deps.local.attach(name, session.connection, resumable !== undefined);
      for (const held of newsTo(others, arrival.held)) session.connection.send(resumable ? positioned(held) : held.frame);
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

  /**
   * Takes a resumable user's name for this connection, from whichever node
   * held it, when the token is the one granted: nobody sees the user leave
   * or come back. Refused (RESUME_REFUSED) when the token is not the
   * current one, or the window ran out; the client then registers anew.
   */
  async resume(session: Session, name: string, token: string, since: ResumePositions, resumeWindowMs: number): Promise<void> {
    this.checkName(session, name);
    // Leaving from here right now, or being registered on another connection here: not to be taken over.
    if (this.deps.departures.holds(name) || this.arrivalNamed(name)) throw new ChatError('RESUME_REFUSED');
    // Named from the start: what is sent to it once it has moved here is held until what it missed is replayed.
    const arrival: Arrival = { name, held: [], resumable: true };
    this.arrivals.set(session, arrival);
    try {
      // Read before the name moves: once it has, nothing may fail before the client learns its new token.
      const others = await this.deps.presence.list();
      const renewed = newResumeToken();
      const resumed = await this.deps.presence.resume({
        name,
        ip: session.connection.ip,
        tokenHash: resumeTokenHash(token),
        renewed: { tokenHash: renewed.hash, windowMs: resumeWindowMs },
      });
      if (!resumed) {
        this.deps.metrics.resumed('refused');
        throw new ChatError('RESUME_REFUSED');
      }
      this.deps.letGo(name);
      if (resumed.from !== '' && resumed.from !== this.deps.presence.nodeId) {
        this.deps.bus.tellMoved(resumed.from, name).catch((err: unknown) => {
          this.deps.logger.warn({ err, user: name, from: resumed.from }, 'could not tell the node a user left that it resumed here');
        });
      }
      this.localNames.add(name);
      session.bind(name, resumeWindowMs, resumed.status, resumed.auto);
      session.connection.send(this.deps.messages.registerSuccess(withName(others, name), { token: renewed.token, windowMs: resumeWindowMs, resumed: true }));
      const replayed = await this.replay(session, name, since);
      // The live room may lag behind the log just read: what it brings up to there is held, and dropped below.
      if (replayed.room !== undefined) await this.deps.room.reached(replayed.room);
      for (const held of arrival.held) {
        if (held.entry !== undefined && replayed.room !== undefined && compareEntryIds(held.entry, replayed.room) <= 0) continue;
        if (held.at !== undefined && replayed.inbox !== undefined && compareEntryIds(held.at, replayed.inbox) <= 0) continue;
        session.connection.send(positioned(held));
      }
      // Closed meanwhile: it is suspended again, not attached. Private messages the log gave are not given again.
      if (session.name === name) this.deps.local.attach(name, session.connection, true, replayed.inbox);
    } catch (err) {
      if (!(err instanceof ChatError)) this.deps.awaitClient(name, resumeWindowMs);
      throw err;
    } finally {
      this.arrivals.delete(session);
    }
  }

  /**
   * Sends a resumed user what it missed, from the logs, in the order it was
   * logged (told first when some of it is no longer kept); → the positions
   * it has now.
   */
  private async replay(session: Session, name: string, since: ResumePositions): Promise<ResumePositions> {
    let missed: Missed;
    try {
      missed = await this.deps.bus.missedSince(name, since);
    } catch (err) {
      session.logger(this.deps.logger).warn({ err }, 'could not read what a resumed user missed');
      missed = { room: [], direct: [], complete: false };
    }
    this.deps.metrics.resumed(missed.complete ? 'resumed' : 'resumed_with_gap');
    if (!missed.complete) session.connection.send(this.deps.messages.messagesMissed());
    let room = since.room;
    let inbox = since.inbox;
    for (const frame of mergeByPosition(missed)) {
      session.connection.send(positioned(frame));
      if (frame.entry !== undefined) room = frame.entry;
      if (frame.at !== undefined) inbox = frame.at;
    }
    return { ...(room !== undefined ? { room } : {}), ...(inbox !== undefined ? { inbox } : {}) };
  }

  private checkName(session: Session, name: string): void {
    if (session.name) throw new ChatError('ALREADY_REGISTERED');
    const problem = usernameProblem(name);
    if (problem !== undefined) throw new ChatError('INVALID_USERNAME', problem);
    const allowed = session.connection.allowedName;
    if (allowed !== undefined && name !== allowed.normalize('NFKC')) throw new ChatError('NAME_NOT_ALLOWED');
  }

  isRegistering(session: Session): boolean {
    return this.arrivals.has(session);
  }

  /**
   * Room traffic reaches every registration in progress, except the one it
   * is about. `about` names the user a presence notice concerns (its
   * arrival, when `except` is that user too).
   */
  holdRoomFrame(frame: string, except: string | undefined, entry?: string, aboutUser?: string): void {
    const about = aboutUser === undefined ? undefined : { user: aboutUser, arrival: except === aboutUser };
    for (const arrival of this.arrivals.values()) if (arrival.name !== except) arrival.held.push({ frame, entry, ...(about ? { about } : {}) });
  }

  /** A direct message for a user still registering waits with its arrival; false when nobody of that name is registering. */
  holdDirectFrame(to: string, frame: string, at?: string): boolean {
    const arrival = this.arrivalNamed(to);
    if (!arrival) return false;
    arrival.held.push({ frame, at });
    return true;
  }

  /**
   * The same for a message sent on this node, which has not been through
   * the backend: false too when the newcomer is resumable (the message must
   * go through its log, so its client can get it back).
   */
  holdLocalDirectFrame(to: string, frame: string): boolean {
    const arrival = this.arrivalNamed(to);
    if (!arrival || arrival.resumable) return false;
    arrival.held.push({ frame });
    return true;
  }

  private arrivalNamed(name: string): Arrival | undefined {
    if (this.arrivals.size === 0) return undefined;
    for (const arrival of this.arrivals.values()) if (arrival.name === name) return arrival;
    return undefined;
  }
}

/**
 * The held frames a newcomer still needs after its user list: the arrival
 * of a user the list already names is news only when something else
 * about that user (its departure, say) was held before it. Without this,
 * an arrival that reached this node between the list and the attach was
 * told twice, which a node subscribed to another server of a Redis
 * Cluster, hearing publishes a little later, made common.
 */
function newsTo(listed: readonly string[], held: readonly HeldFrame[]): HeldFrame[] {
  const known = new Set(listed);
  return held.filter(({ about }) => {
    if (!about) return true;
    const redundant = about.arrival && known.has(about.user);
    known.delete(about.user);
    return !redundant;
  });
}

/** The users listed, the newcomer among them (a list read before its claim may lack it), sorted. */
function withName(listed: readonly string[], name: string): readonly string[] {
  return listed.includes(name) ? listed : [...listed, name].sort();
}

/** A frame as a resumable client gets it: with its position. */
function positioned({ frame, entry, at }: HeldFrame): string {
  if (entry !== undefined) return withPosition(frame, 'room_pos', entry);
  if (at !== undefined) return withPosition(frame, 'inbox_pos', at);
  return frame;
}

/** Room and private envelopes missed, as one list in the order they were logged (one Redis clock for both logs). */
function mergeByPosition(missed: Missed): HeldFrame[] {
  const room: HeldFrame[] = missed.room.map(({ frame, entry }) => ({ frame, entry }));
  const direct: HeldFrame[] = missed.direct.map(({ frame, at }) => ({ frame, at }));
  const merged: HeldFrame[] = [];
  let r = 0;
  let d = 0;
  while (r < room.length || d < direct.length) {
    const nextRoom = room[r];
    const nextDirect = direct[d];
    if (nextDirect === undefined || (nextRoom !== undefined && compareEntryIds(nextRoom.entry ?? '0-0', nextDirect.at ?? '0-0') < 0)) {
      merged.push(nextRoom!);
      r++;
    } else {
      merged.push(nextDirect);
      d++;
    }
  }
  return merged;
}
