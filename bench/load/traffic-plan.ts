import type { LoadClient } from './load-client.js';
import { ACTIONS, type Action, type MixWeights, type TrafficPlan } from './messages.js';
import { SeededRandom } from './seeded-random.js';
import { timedContent } from './traffic-content.js';
import type { TrafficRecorder } from './traffic-recorder.js';

/** Sends the next message of a plan; one call, one client message. */
export type NextMessage = () => void;

const STATUSES = ['OCUPADO', 'ACTIVO'] as const;

/**
 * Turns a plan into a function that sends its next message. Senders take
 * turns, so a rate spread over many senders stays even per connection.
 */
export function planSender(plan: TrafficPlan, clients: ReadonlyMap<number, LoadClient>, recorder: TrafficRecorder): NextMessage {
  const clientOf = (id: number): LoadClient => {
    const client = clients.get(id);
    if (!client) throw new Error(`client ${id} does not belong to this generator process`);
    return client;
  };
  switch (plan.kind) {
    case 'broadcast': {
      const senders = plan.senders.map(clientOf);
      let turn = 0;
      return () => {
        const sender = senders[turn++ % senders.length]!;
        sender.send(JSON.stringify({ type: 'broadcast', content: timedContent(plan.contentBytes) }));
        recorder.countSent('broadcast');
      };
    }
    case 'private': {
      const pairs = plan.pairs.map((pair) => ({ from: clientOf(pair.from), to: pair.to }));
      let turn = 0;
      return () => {
        const pair = pairs[turn++ % pairs.length]!;
        pair.from.send(JSON.stringify({ type: 'private', target: pair.to, content: timedContent(plan.contentBytes) }));
        recorder.countSent('private');
      };
    }
    case 'mixed':
      return mixedSender(plan, plan.actors.map(clientOf), recorder);
    default:
      return assertNever(plan);
  }
}

function mixedSender(plan: Extract<TrafficPlan, { kind: 'mixed' }>, actors: readonly LoadClient[], recorder: TrafficRecorder): NextMessage {
  const random = new SeededRandom(plan.seed);
  const pickAction = weightedPicker(plan.weights, random);
  const statusTurns = new Map<LoadClient, number>();
  let turn = 0;
  const peer = (): string => plan.peers[random.below(plan.peers.length)]!;
  return () => {
    const actor = actors[turn++ % actors.length]!;
    const action = pickAction();
    switch (action) {
      case 'broadcast':
        actor.send(JSON.stringify({ type: 'broadcast', content: timedContent(plan.contentBytes) }));
        break;
      case 'private':
        actor.send(JSON.stringify({ type: 'private', target: peer(), content: timedContent(plan.contentBytes) }));
        break;
      case 'change_status': {
        const flips = statusTurns.get(actor) ?? 0;
        statusTurns.set(actor, flips + 1);
        actor.send(JSON.stringify({ type: 'change_status', content: STATUSES[flips % STATUSES.length] }));
        break;
      }
      case 'list_users':
        actor.send(JSON.stringify({ type: 'list_users' }));
        break;
      case 'user_info':
        actor.send(JSON.stringify({ type: 'user_info', target: peer() }));
        break;
      default:
        assertNever(action);
    }
    recorder.countSent(action);
  };
}

function weightedPicker(weights: MixWeights, random: SeededRandom): () => Action {
  const total = ACTIONS.reduce((sum, action) => sum + weights[action], 0);
  if (total <= 0) throw new Error('the message mix needs at least one positive weight');
  return () => {
    let roll = random.next() * total;
    for (const action of ACTIONS) {
      roll -= weights[action];
      if (roll < 0) return action;
    }
    return ACTIONS[ACTIONS.length - 1]!;
  };
}

function assertNever(value: never): never {
  throw new Error(`unhandled variant: ${JSON.stringify(value)}`);
}
