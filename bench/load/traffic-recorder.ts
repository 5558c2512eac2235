import { LatencyHistogram } from './latency-histogram.js';
import { ACTIONS, FRAME_TYPES, zeroCounts, type Action, type FrameType, type WorkerStats } from './messages.js';
import { monotonicMicros, sentMicros } from './traffic-content.js';

const TYPE_START = Buffer.from('{"type":"');
const QUOTE = 0x22;
const KNOWN_FRAME_TYPES: ReadonlySet<string> = new Set(FRAME_TYPES);
const CODE_PATTERN = /"code":"([A-Z_]+)"/;

/** Counts what one generator process sent and received, and times every delivery that carries a send time. */
export class TrafficRecorder {
  private sent = zeroCounts(ACTIONS);
  private received = zeroCounts(FRAME_TYPES);
  private unknownFrames = 0;
  private frames = 0;
  private errors: Record<string, number> = {};
  private closes: Record<string, number> = {};
  private readonly broadcastLatency = new LatencyHistogram();
  private readonly privateLatency = new LatencyHistogram();
  private readonly registrationLatency = new LatencyHistogram();

  get framesReceived(): number {
    return this.frames;
  }

  countSent(action: Action): void {
    this.sent[action]++;
  }

  recordRegistration(micros: number): void {
    this.registrationLatency.record(micros);
  }

  recordClose(code: number): void {
    this.closes[code] = (this.closes[code] ?? 0) + 1;
  }

  /** Classifies one server frame by its leading `{"type":"…"`, the field order the protocol fixes. */
  recordFrame(frame: Buffer): FrameType | undefined {
    this.frames++;
    const type = frameType(frame);
    if (!type) {
      this.unknownFrames++;
      return undefined;
    }
    this.received[type]++;
    if (type === 'broadcast' || type === 'private') {
      const sentAt = sentMicros(frame);
      if (sentAt !== undefined) (type === 'broadcast' ? this.broadcastLatency : this.privateLatency).record(monotonicMicros() - sentAt);
    } else if (type === 'error') {
      const code = CODE_PATTERN.exec(frame.toString('utf8'))?.[1] ?? 'NO_CODE';
      this.errors[code] = (this.errors[code] ?? 0) + 1;
    }
    return type;
  }

  stats(open: number): WorkerStats {
    return {
      sent: { ...this.sent },
      received: { ...this.received },
      unknownFrames: this.unknownFrames,
      broadcastLatency: this.broadcastLatency.snapshot(),
      privateLatency: this.privateLatency.snapshot(),
      registrationLatency: this.registrationLatency.snapshot(),
      errors: { ...this.errors },
      closes: { ...this.closes },
      open,
    };
  }

  reset(): void {
    this.sent = zeroCounts(ACTIONS);
    this.received = zeroCounts(FRAME_TYPES);
    this.unknownFrames = 0;
    this.frames = 0;
    this.errors = {};
    this.closes = {};
    this.broadcastLatency.reset();
    this.privateLatency.reset();
    this.registrationLatency.reset();
  }
}

function frameType(frame: Buffer): FrameType | undefined {
  if (frame.length <= TYPE_START.length || frame.compare(TYPE_START, 0, TYPE_START.length, 0, TYPE_START.length) !== 0) {
    return undefined;
  }
  const end = frame.indexOf(QUOTE, TYPE_START.length);
  if (end < 0) return undefined;
  const name = frame.toString('latin1', TYPE_START.length, end);
  return KNOWN_FRAME_TYPES.has(name) ? (name as FrameType) : undefined;
}
