/**
 * Message content that carries its send time: `~<monotonic µs>~` and
 * padding up to the configured size. Every process on the machine reads the
 * same monotonic clock, so a receiver in another process can time delivery.
 */
const MARKER = Buffer.from('"content":"~');
const TILDE = 0x7e;

export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export function timedContent(bytes: number): string {
  const stamp = `~${monotonicMicros()}~`;
  return bytes > stamp.length ? stamp + 'x'.repeat(bytes - stamp.length) : stamp;
}

/** The send time carried by a broadcast or private frame, or undefined when it has none. */
export function sentMicros(frame: Buffer): number | undefined {
  const at = frame.indexOf(MARKER);
  if (at < 0) return undefined;
  let value = 0;
  for (let i = at + MARKER.length; i < frame.length; i++) {
    const byte = frame[i]!;
    if (byte === TILDE) return value;
    if (byte < 0x30 || byte > 0x39) return undefined;
    value = value * 10 + (byte - 0x30);
  }
  return undefined;
}
